#include "server/typed_call.h"

#include <google/protobuf/message.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "proto/proto_json.h"

namespace sserpc {

absl::StatusOr<std::string> MessageTranscoder::ToJson(
    absl::string_view request_proto) const {
  std::unique_ptr<google::protobuf::Message> request(prototype_.New());
  absl::Status s = PayloadToMessage(request_proto, /*protobuf=*/true,
                                    request.get());
  // Bytes this process serialized itself: failing here is our fault.
  if (!s.ok()) return absl::InternalError(s.message());
  std::string json;
  s = MessageToJson(*request, &json);
  if (!s.ok()) return s;
  return json;
}

absl::StatusOr<std::string> SerializeRequest(
    const google::protobuf::Message& request) {
  std::string bytes;
  absl::Status s = MessageToPayload(request, /*protobuf=*/true, &bytes);
  // The caller's message (a proto2 one missing required fields).
  if (!s.ok()) return absl::InvalidArgumentError(s.message());
  return bytes;
}

absl::Status ParseAnswer(absl::string_view method, RawCallResult result,
                         google::protobuf::Message* response) {
  if (!result.ok()) return result.status();
  absl::Status s =
      PayloadToMessage(result->payload, result->protobuf, response);
  if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat("the client's answer to ", method, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace sserpc
