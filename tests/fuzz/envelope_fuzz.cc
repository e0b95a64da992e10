// libFuzzer target: every decoder of the protocol's bodies and event data,
// JSON and protobuf. A decoded reply must re-encode to something the
// decoder accepts again, with the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/binary_envelope.h"
#include "proto/envelope.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<sserpc::ReplyEnvelope> replies;
  bool batch = false;
  if (sserpc::ParseReplies(text, &replies, &batch).ok()) {
    for (const sserpc::ReplyEnvelope& r : replies) {
      std::string again;
      sserpc::AppendReply(r, &again);
      if (!sserpc::ParseReply(again).ok()) abort();
    }
  }
  (void)sserpc::ParseRequestData(text);
  (void)sserpc::ParseCancelData(text);
  (void)sserpc::ParseSessionData(text);
  (void)sserpc::ParseErrorBody(text, absl::StatusCode::kUnknown);

  if (sserpc::ParseRepliesProto(text, &replies).ok()) {
    std::string again;
    for (const sserpc::ReplyEnvelope& r : replies) {
      sserpc::AppendReplyProto(r, &again);
    }
    std::vector<sserpc::ReplyEnvelope> reparsed;
    if (!sserpc::ParseRepliesProto(again, &reparsed).ok() ||
        reparsed.size() != replies.size()) {
      abort();
    }
    for (size_t i = 0; i < replies.size(); ++i) {
      if (reparsed[i].call_id != replies[i].call_id ||
          reparsed[i].payload != replies[i].payload ||
          reparsed[i].error != replies[i].error) {
        abort();
      }
    }
  }
  (void)sserpc::ForEachReplyResultProto(text, [](absl::string_view, int) {});
  absl::StatusOr<sserpc::RequestEnvelope> req =
      sserpc::ParseRequestDataProto(text);
  if (req.ok()) {
    std::string again;
    sserpc::AppendRequestDataProto(req->call_id, req->method, req->timeout_ms,
                                   req->payload, &again);
    absl::StatusOr<sserpc::RequestEnvelope> back =
        sserpc::ParseRequestDataProto(again);
    if (!back.ok() || back->payload != req->payload ||
        back->call_id != req->call_id || back->timeout_ms != req->timeout_ms) {
      abort();
    }
  }
  std::string decoded;
  if (sserpc::DecodeBase64(text, &decoded).ok()) {
    std::string encoded;
    sserpc::AppendBase64(decoded, &encoded);
    if (encoded != text) abort();  // strict decoding: one text per bytes
  }
  return 0;
}
