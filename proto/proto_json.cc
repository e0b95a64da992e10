#include "proto/proto_json.h"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace sserpc {

absl::Status MessageToJson(const google::protobuf::Message& message,
                           std::string* out) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  out->clear();
  auto status = google::protobuf::util::MessageToJsonString(message, out, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot write ",
                                            message.GetTypeName(), " as JSON: ",
                                            status.message().as_string()));
  }
  return absl::OkStatus();
}

absl::Status JsonToMessage(absl::string_view json,
                           google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  message->Clear();
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("payload is not a valid ", message->GetTypeName(), ": ",
                     status.message().as_string()));
  }
  return absl::OkStatus();
}

absl::Status PayloadToMessage(absl::string_view payload, bool protobuf,
                              google::protobuf::Message* message) {
  if (!protobuf) return JsonToMessage(payload, message);
  message->Clear();
  if (!message->ParseFromArray(payload.data(),
                               static_cast<int>(payload.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "payload is not a valid ", message->GetTypeName(),
        " in protobuf form"));
  }
  return absl::OkStatus();
}

absl::Status MessageToPayload(const google::protobuf::Message& message,
                              bool protobuf, std::string* out) {
  if (!protobuf) return MessageToJson(message, out);
  out->clear();
  if (!message.SerializeToString(out)) {
    return absl::InternalError(
        absl::StrCat("cannot serialize ", message.GetTypeName()));
  }
  return absl::OkStatus();
}

}  // namespace sserpc
