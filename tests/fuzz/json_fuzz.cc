// libFuzzer target: the strict JSON scanner. Whatever it accepts must be
// walkable member by member and element by element, and a string it quotes
// must parse back to the same bytes (or U+FFFD replacements).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "proto/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (sserpc::json::Validate(text).ok()) {
    size_t first = sserpc::json::SkipSpace(text, 0);
    if (text[first] == '{') {
      if (!sserpc::json::ForEachMember(text, [](absl::string_view, absl::string_view v) {
             return sserpc::json::Validate(v);
           }).ok()) {
        abort();
      }
    } else if (text[first] == '[') {
      if (!sserpc::json::ForEachElement(text, [](absl::string_view v) {
             return sserpc::json::Validate(v);
           }).ok()) {
        abort();
      }
    }
    int64_t n;
    (void)sserpc::json::ParseInt64(text, &n);
  }
  std::string quoted;
  sserpc::json::AppendQuoted(text, &quoted);
  std::string back;
  size_t pos = 0;
  if (!sserpc::json::ParseString(quoted, &pos, &back).ok() || pos != quoted.size()) {
    abort();
  }
  return 0;
}
