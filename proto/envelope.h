#ifndef SSERPC_PROTO_ENVELOPE_H_
#define SSERPC_PROTO_ENVELOPE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Encoders and decoders for the JSON data of the protocol's events and bodies
// (the messages of proto/envelope.proto in their proto3 JSON form). Payloads
// stay the raw JSON text the peer sent; decoders validate them. Decoders
// accept both snake_case and lowerCamelCase member names, ignore unknown
// members, and return INVALID_ARGUMENT naming what is wrong.
namespace sserpc {

struct RequestEnvelope {
  std::string call_id;
  std::string method;
  int64_t timeout_ms = 0;
  std::string payload;  // raw JSON, or protobuf binary when `protobuf`
  bool protobuf = false;  // came as `event: request-proto`
};

struct ReplyEnvelope {
  std::string call_id;
  // OK for a payload answer; otherwise the client's error.
  absl::Status error;
  // Raw JSON, or protobuf binary when `protobuf`; empty when `error` is not
  // OK.
  std::string payload;
  bool protobuf = false;
};

struct CancelEnvelope {
  std::string call_id;
  absl::StatusCode code = absl::StatusCode::kCancelled;
};

struct SessionEnvelope {
  std::string client_id;
  int64_t heartbeat_ms = 0;
  bool protobuf_payloads = false;  // "payloads":"protobuf"
};

// Appends the data of `event: request`. `payload_json` must be valid JSON.
void AppendRequestData(absl::string_view call_id, absl::string_view method,
                       int64_t timeout_ms, absl::string_view payload_json,
                       std::string* out);
absl::StatusOr<RequestEnvelope> ParseRequestData(absl::string_view data);

void AppendCancelData(absl::string_view call_id, absl::StatusCode code,
                      std::string* out);
absl::StatusOr<CancelEnvelope> ParseCancelData(absl::string_view data);

void AppendSessionData(absl::string_view client_id, int64_t heartbeat_ms,
                       bool protobuf_payloads, std::string* out);
absl::StatusOr<SessionEnvelope> ParseSessionData(absl::string_view data);

// Appends one reply object (payload or error form).
void AppendReply(const ReplyEnvelope& reply, std::string* out);

// Parses a replies body: one reply object, or a JSON array of them. An element
// that is malformed makes the whole body malformed. An empty array is
// malformed too.
absl::Status ParseReplies(absl::string_view body,
                          std::vector<ReplyEnvelope>* replies, bool* is_batch);

// Parses one reply object.
absl::StatusOr<ReplyEnvelope> ParseReply(absl::string_view object);

// `{"code":"<NAME>","message":"..."}`: the body of every error response.
std::string ErrorBody(const absl::Status& status);
void AppendErrorObject(const absl::Status& status, std::string* out);

// Parses an error object into a Status. A body that is not one gives
// `fallback` with the raw body as its message.
absl::Status ParseErrorBody(absl::string_view body, absl::StatusCode fallback);

}  // namespace sserpc

#endif  // SSERPC_PROTO_ENVELOPE_H_
