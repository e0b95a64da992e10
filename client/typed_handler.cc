#include "client/typed_handler.h"

#include <google/protobuf/message.h>

#include "absl/strings/str_cat.h"
#include "proto/proto_json.h"

namespace sserpc {

absl::Status ParseRequest(absl::string_view payload, bool protobuf,
                          google::protobuf::Message* request) {
  if (!protobuf) return JsonToMessage(payload, request);
  request->Clear();
  if (!request->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the payload is not a valid ", request->GetTypeName(),
        " in protobuf form"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> WriteResponse(
    const google::protobuf::Message& response, bool protobuf) {
  if (protobuf) {
    std::string bytes;
    if (!response.SerializeToString(&bytes)) {
      return absl::InternalError(absl::StrCat(
          "cannot serialize the ", response.GetTypeName(), " answer"));
    }
    return bytes;
  }
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
