#ifndef SSERPC_PROTO_BINARY_ENVELOPE_H_
#define SSERPC_PROTO_BINARY_ENVELOPE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/envelope.h"

// The protobuf forms of the protocol's hot messages (docs/PROTOCOL.md,
// "Protobuf payloads"): the data of `event: request-proto` (a binary
// RequestEvent, base64 in the SSE data), binary replies bodies (ReplyBatch)
// and their results (ReplyResults), all of proto/envelope.proto. Written and
// read here by hand, without libprotobuf, so the core runtime does not need
// it and reading copies nothing but the fields it keeps; tests check every
// byte against libprotobuf's own encoding. Decoders skip unknown fields (as
// protobuf parsers do) and return INVALID_ARGUMENT naming what is wrong.
namespace sserpc {

// Media type of binary replies bodies and of their results.
inline constexpr char kProtobufContentType[] = "application/x-protobuf";
// True for application/x-protobuf or application/protobuf, parameters
// ignored.
bool IsProtobufContentType(absl::string_view content_type);

// Standard base64 (RFC 4648 section 4, with padding).
void AppendBase64(absl::string_view bytes, std::string* out);
// Strict: only the standard alphabet, padding required, no whitespace.
absl::Status DecodeBase64(absl::string_view text, std::string* out);

// Appends the data of `event: request-proto`: base64 of a binary
// RequestEvent with `payload_proto`.
void AppendRequestDataProto(absl::string_view call_id, absl::string_view method,
                            int64_t timeout_ms, absl::string_view payload_proto,
                            std::string* out);
// The result has `protobuf` set and the payload's bytes in `payload`.
absl::StatusOr<RequestEnvelope> ParseRequestDataProto(absl::string_view data);

// Appends one reply (a `replies` field of ReplyBatch) to a binary body. A
// payload answer must have `protobuf` set.
void AppendReplyProto(const ReplyEnvelope& reply, std::string* out);
// Parses a binary replies body. As in ParseReplies, one malformed reply makes
// the whole body malformed, and an empty batch is malformed. The replies
// have `protobuf` set.
absl::Status ParseRepliesProto(absl::string_view body,
                               std::vector<ReplyEnvelope>* replies);

// Appends one ReplyResult (a `results` field of ReplyResults).
void AppendReplyResultProto(absl::string_view call_id, int http_status,
                            const absl::Status& status, std::string* out);
// Calls `result(call_id, http_status)` for each result of a ReplyResults
// body.
absl::Status ForEachReplyResultProto(
    absl::string_view body,
    absl::FunctionRef<void(absl::string_view call_id, int http_status)> result);

}  // namespace sserpc

#endif  // SSERPC_PROTO_BINARY_ENVELOPE_H_
