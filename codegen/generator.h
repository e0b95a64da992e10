#ifndef SSERPC_CODEGEN_GENERATOR_H_
#define SSERPC_CODEGEN_GENERATOR_H_

#include <cstdint>
#include <string>

#include <google/protobuf/compiler/code_generator.h>

namespace sserpc::codegen {

// protoc-gen-sserpc: for every .proto file with services, writes
// `<file>.sserpc.h` and `<file>.sserpc.cc` next to protoc's `<file>.pb.h`.
// For each service `S`, in the proto package's C++ namespace:
//   class S {
//     static constexpr char kServiceName[], k<Method>Method[];
//     class Handler;   // implemented in the client process
//     static absl::Status Register(sserpc::Client&, Handler*);
//     class Caller;    // used in the server process
//   };
// Generated bodies are one-line calls into server/typed_call.h and
// client/typed_handler.h. Streaming methods are refused with an error naming
// the file, service and method.
class Generator final : public google::protobuf::compiler::CodeGenerator {
 public:
  bool Generate(const google::protobuf::FileDescriptor* file,
                const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;

  uint64_t GetSupportedFeatures() const override {
    return FEATURE_PROTO3_OPTIONAL;
  }
};

}  // namespace sserpc::codegen

#endif  // SSERPC_CODEGEN_GENERATOR_H_
