#include "server/typed_call.h"

#include <google/protobuf/message.h>

#include "absl/strings/str_cat.h"
#include "proto/proto_json.h"

namespace sserpc {

absl::StatusOr<std::string> RequestJson(const google::protobuf::Message& request) {
  std::string json;
  absl::Status s = MessageToJson(request, &json);
  if (!s.ok()) return s;
  return json;
}

absl::Status ParseAnswer(absl::string_view method, const CallResult& result,
                         google::protobuf::Message* response) {
  if (!result.ok()) return result.status();
  absl::Status s = JsonToMessage(*result, response);
  if (!s.ok()) {
    return absl::InternalError(
        absl::StrCat("the client's answer to ", method, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status TypedCallImpl(Server& server, absl::string_view client_id,
                           absl::string_view method,
                           const google::protobuf::Message& request,
                           const CallOptions& options,
                           google::protobuf::Message* response) {
  absl::StatusOr<std::string> json = RequestJson(request);
  if (!json.ok()) return json.status();
  return ParseAnswer(method,
                     server.Call(client_id, method, *std::move(json), options),
                     response);
}

}  // namespace sserpc
