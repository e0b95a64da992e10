#ifndef SSERPC_PROTO_VERSION_H_
#define SSERPC_PROTO_VERSION_H_

#define SSERPC_VERSION_STRING "0.1.0"

// The contract between protoc-gen-sserpc's output and the runtime's typed
// helpers (server/typed_call.h, client/typed_handler.h). Generated code
// refuses to compile against a runtime with another value: regenerate it.
// 2: typed calls send protobuf bytes; typed handlers accept protobuf.
#define SSERPC_CODEGEN_ABI 2

#endif  // SSERPC_PROTO_VERSION_H_
