#include "client/typed_handler.h"

#include <google/protobuf/message.h>

#include "absl/strings/str_cat.h"
#include "proto/proto_json.h"

namespace sserpc {

absl::Status ParseRequest(absl::string_view payload,
                          google::protobuf::Message* request) {
  return JsonToMessage(payload, request);
}

absl::StatusOr<std::string> WriteResponse(
    const google::protobuf::Message& response) {
  std::string json;
  absl::Status s = MessageToJson(response, &json);
  if (!s.ok()) return s;
  return json;
}

absl::Status UnimplementedMethod(absl::string_view method) {
  return absl::UnimplementedError(
      absl::StrCat(method, " is not implemented by this client"));
}

}  // namespace sserpc
