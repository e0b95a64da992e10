#ifndef SSERPC_PROTO_PROTO_JSON_H_
#define SSERPC_PROTO_PROTO_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
}

// Typed payloads on the wire: the proto3 JSON mapping, written with the
// original (snake_case) field names like the envelope, read accepting both
// names and ignoring unknown fields (so peers can add fields). Protobuf's
// status type is converted here, at the boundary.
namespace sserpc {

// INTERNAL if protobuf cannot print the message (e.g. an Any it cannot
// resolve).
absl::Status MessageToJson(const google::protobuf::Message& message,
                           std::string* out);

// INVALID_ARGUMENT naming the message type if `json` does not have its
// shape. `message` is cleared first.
absl::Status JsonToMessage(absl::string_view json,
                           google::protobuf::Message* message);

// A payload in either of its forms (docs/PROTOCOL.md, "Protobuf payloads"):
// the protobuf binary format when `protobuf`, proto3 JSON otherwise.
// INVALID_ARGUMENT naming the message type if `payload` is not one of its
// type. `message` is cleared first.
absl::Status PayloadToMessage(absl::string_view payload, bool protobuf,
                              google::protobuf::Message* message);
// INTERNAL if the message cannot be written (JSON: see MessageToJson;
// binary: a proto2 message missing required fields, or one over 2 GiB).
absl::Status MessageToPayload(const google::protobuf::Message& message,
                              bool protobuf, std::string* out);

}  // namespace sserpc

#endif  // SSERPC_PROTO_PROTO_JSON_H_
