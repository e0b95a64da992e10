// libFuzzer target: the incremental SSE parser. The input is split into
// chunks at positions taken from its first bytes, so every way a stream can
// arrive is reachable; events must come out the same as when the whole
// input is fed at once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/sse.h"

namespace {

std::vector<std::string> Parse(const std::vector<std::string>& chunks,
                               bool* failed) {
  std::vector<std::string> seen;
  sserpc::SseParser parser(
      {[&](const sserpc::SseEvent& e) {
         seen.push_back(e.event + "\x1f" + e.id + "\x1f" + e.data);
       },
       [&](int64_t ms) { seen.push_back("retry " + std::to_string(ms)); }},
      1 << 16);
  *failed = false;
  for (const std::string& c : chunks) {
    if (!parser.Feed(c).ok()) {
      *failed = true;
      break;
    }
  }
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t splits = data[0] % 8;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> chunks;
  size_t pos = 0;
  for (size_t i = 0; i < splits && pos < body.size(); ++i) {
    size_t len = 1 + (static_cast<unsigned char>(body[pos]) % 17);
    chunks.push_back(body.substr(pos, len));
    pos += len;
  }
  if (pos < body.size()) chunks.push_back(body.substr(pos));
  bool split_failed, whole_failed;
  std::vector<std::string> split = Parse(chunks, &split_failed);
  std::vector<std::string> whole = Parse({body}, &whole_failed);
  // Splitting may only change where a size-limit failure is noticed.
  if (!split_failed && !whole_failed && split != whole) abort();
  return 0;
}
