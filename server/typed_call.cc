#include "server/typed_call.h"

#include <google/protobuf/message.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "proto/proto_json.h"

namespace sserpc {

absl::StatusOr<std::string> MessageTranscoder::ToJson(
    absl::string_view request_proto) const {
  std::unique_ptr<google::protobuf::Message> request(prototype_.New());
  if (!request->ParseFromArray(request_proto.data(),
                               static_cast<int>(request_proto.size()))) {
    return absl::InternalError(absl::StrCat(
        "not a valid ", prototype_.GetTypeName(), " in protobuf form"));
  }
  std::string json;
  absl::Status s = MessageToJson(*request, &json);
  if (!s.ok()) return s;
  return json;
}

absl::StatusOr<std::string> SerializeRequest(
    const google::protobuf::Message& request) {
  std::string bytes;
  if (!request.SerializeToString(&bytes)) {
    // Only a proto2 message missing required fields, or one over 2 GiB.
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot serialize the ", request.GetTypeName(), " request"));
  }
  return bytes;
}

absl::Status ParseAnswer(absl::string_view method, RawCallResult result,
                         google::protobuf::Message* response) {
  if (!result.ok()) return result.status();
  absl::Status s;
  if (result->protobuf) {
    response->Clear();
    if (!response->ParseFromString(result->payload)) {
      s = absl::InvalidArgumentError(absl::StrCat(
          "not a valid ", response->GetTypeName(), " in protobuf form"));
    }
  } else {
    s = JsonToMessage(result->payload, response);
  }
  if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat("the client's answer to ", method, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace sserpc
