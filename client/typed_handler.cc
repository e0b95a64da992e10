#include "client/typed_handler.h"

#include <google/protobuf/message.h>

#include "absl/strings/str_cat.h"
#include "proto/proto_json.h"

namespace sserpc {

absl::Status ParseRequest(absl::string_view payload, bool protobuf,
                          google::protobuf::Message* request) {
  return PayloadToMessage(payload, protobuf, request);
}

absl::StatusOr<std::string> WriteResponse(
    const google::protobuf::Message& response, bool protobuf) {
  std::string payload;
  absl::Status s = MessageToPayload(response, protobuf, &payload);
  if (!s.ok()) return s;
  return payload;
}

absl::Status UnimplementedMethod(absl::string_view method) {
  return absl::UnimplementedError(
      absl::StrCat(method, " is not implemented by this client"));
}

}  // namespace sserpc
