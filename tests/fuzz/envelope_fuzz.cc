// libFuzzer target: every decoder of the protocol's JSON bodies. A decoded
// reply must re-encode to something the decoder accepts again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

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
  return 0;
}
