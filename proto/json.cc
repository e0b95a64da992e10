#include "proto/json.h"

#include <cstdint>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace sserpc::json {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status Error(absl::string_view what, size_t pos) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid JSON: ", what, " at byte ", pos));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid (overlong forms,
// surrogates and code points above U+10FFFF are invalid).
size_t Utf8Length(absl::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  size_t n;
  uint32_t min;
  uint32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool Read4Hex(absl::string_view t, size_t at, uint32_t* v) {
  if (at + 4 > t.size()) return false;
  uint32_t r = 0;
  for (size_t k = 0; k < 4; ++k) {
    int h = HexValue(t[at + k]);
    if (h < 0) return false;
    r = (r << 4) | static_cast<uint32_t>(h);
  }
  *v = r;
  return true;
}

// False only if none of the 8 bytes in `w` is '"', '\\', below 0x20 or from
// 0x80 (the bytes a string's plain run stops at). A true may be a false
// alarm (a borrow from a lower byte that matched): the caller then looks
// at each byte.
inline bool MayHoldSpecialByte(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  // A byte of v is zero (or a lower one was): its high bit in the result.
  auto zero_byte = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const uint64_t high = w & kHighs;                     // from 0x80
  const uint64_t control = (w - kOnes * 0x20) & ~w & kHighs;  // below 0x20
  const uint64_t quote = zero_byte(w ^ (kOnes * '"'));
  const uint64_t backslash = zero_byte(w ^ (kOnes * '\\'));
  return (high | control | quote | backslash) != 0;
}

// Scans (and, when out != nullptr, decodes) the string literal at *pos.
absl::Status ScanString(absl::string_view t, size_t* pos, std::string* out) {
  size_t i = *pos;
  if (i >= t.size() || t[i] != '"') return Error("expected string", i);
  ++i;
  while (true) {
    // Copy the run of plain bytes in one go, skipping 8 at a time while
    // none of them is special.
    size_t run = i;
    while (run + 8 <= t.size()) {
      uint64_t w;
      std::memcpy(&w, t.data() + run, 8);
      if (MayHoldSpecialByte(w)) break;
      run += 8;
    }
    while (run < t.size()) {
      const auto c = static_cast<unsigned char>(t[run]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++run;
    }
    if (out != nullptr) out->append(t.data() + i, run - i);
    i = run;
    if (i >= t.size()) return Error("unterminated string", i);
    const auto c = static_cast<unsigned char>(t[i]);
    if (c == '"') {
      *pos = i + 1;
      return absl::OkStatus();
    }
    if (c < 0x20) return Error("control character in string", i);
    if (c >= 0x80) {
      size_t n = Utf8Length(t, i);
      if (n == 0) return Error("invalid UTF-8 in string", i);
      if (out != nullptr) out->append(t.data() + i, n);
      i += n;
      continue;
    }
    // Escape.
    if (i + 1 >= t.size()) return Error("unterminated escape", i);
    char e = t[i + 1];
    char decoded = 0;
    switch (e) {
      case '"': decoded = '"'; break;
      case '\\': decoded = '\\'; break;
      case '/': decoded = '/'; break;
      case 'b': decoded = '\b'; break;
      case 'f': decoded = '\f'; break;
      case 'n': decoded = '\n'; break;
      case 'r': decoded = '\r'; break;
      case 't': decoded = '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!Read4Hex(t, i + 2, &cp)) return Error("bad \\u escape", i);
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo;
          if (i + 1 < t.size() && t[i] == '\\' && t[i + 1] == 'u' &&
              Read4Hex(t, i + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          } else {
            return Error("unpaired surrogate", i);
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return Error("unpaired surrogate", i);
        }
        if (out != nullptr) AppendUtf8(cp, out);
        continue;
      }
      default:
        return Error("bad escape", i);
    }
    if (out != nullptr) out->push_back(decoded);
    i += 2;
  }
}

absl::Status ScanNumber(absl::string_view t, size_t* pos) {
  size_t i = *pos;
  if (i < t.size() && t[i] == '-') ++i;
  if (i >= t.size()) return Error("bad number", i);
  if (t[i] == '0') {
    ++i;
  } else if (IsDigit(t[i])) {
    while (i < t.size() && IsDigit(t[i])) ++i;
  } else {
    return Error("bad number", i);
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (i >= t.size() || !IsDigit(t[i])) return Error("bad fraction", i);
    while (i < t.size() && IsDigit(t[i])) ++i;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (i >= t.size() || !IsDigit(t[i])) return Error("bad exponent", i);
    while (i < t.size() && IsDigit(t[i])) ++i;
  }
  *pos = i;
  return absl::OkStatus();
}

absl::Status ScanLiteral(absl::string_view t, size_t* pos,
                         absl::string_view word) {
  if (t.substr(*pos, word.size()) != word) return Error("unexpected token", *pos);
  *pos += word.size();
  return absl::OkStatus();
}

// Iterative scanner: nesting is tracked in a fixed-size stack, so hostile
// input cannot exhaust the thread's stack.
absl::Status ScanValue(absl::string_view t, size_t* pos) {
  char stack[kMaxDepth];  // '{' or '['
  int depth = 0;
  size_t i = SkipSpace(t, *pos);
  while (true) {
    // Expect a value at i.
    if (i >= t.size()) return Error("unexpected end", i);
    char c = t[i];
    bool opened = false;
    absl::Status s;
    switch (c) {
      case '{':
      case '[':
        if (depth == kMaxDepth) return Error("nesting too deep", i);
        stack[depth++] = c;
        ++i;
        i = SkipSpace(t, i);
        if (i < t.size() && t[i] == (c == '{' ? '}' : ']')) {
          --depth;
          ++i;
        } else {
          opened = true;
        }
        break;
      case '"': s = ScanString(t, &i, nullptr); break;
      case 't': s = ScanLiteral(t, &i, "true"); break;
      case 'f': s = ScanLiteral(t, &i, "false"); break;
      case 'n': s = ScanLiteral(t, &i, "null"); break;
      default: s = ScanNumber(t, &i); break;
    }
    if (!s.ok()) return s;
    if (opened && stack[depth - 1] == '{') {
      // First member of a fresh object: a key must follow.
      if (i >= t.size() || t[i] != '"') return Error("expected key", i);
      s = ScanString(t, &i, nullptr);
      if (!s.ok()) return s;
      i = SkipSpace(t, i);
      if (i >= t.size() || t[i] != ':') return Error("expected ':'", i);
      i = SkipSpace(t, i + 1);
      continue;
    }
    if (opened) continue;  // first element of a fresh array
    // A value just ended: close containers or move to the next member.
    while (true) {
      if (depth == 0) {
        *pos = i;  // just past the value, not past the whitespace after it
        return absl::OkStatus();
      }
      i = SkipSpace(t, i);
      if (i >= t.size()) return Error("unexpected end", i);
      char top = stack[depth - 1];
      if (t[i] == (top == '{' ? '}' : ']')) {
        --depth;
        ++i;
        continue;
      }
      if (t[i] != ',') return Error("expected ',' or close", i);
      i = SkipSpace(t, i + 1);
      if (top == '{') {
        if (i >= t.size() || t[i] != '"') return Error("expected key", i);
        s = ScanString(t, &i, nullptr);
        if (!s.ok()) return s;
        i = SkipSpace(t, i);
        if (i >= t.size() || t[i] != ':') return Error("expected ':'", i);
        i = SkipSpace(t, i + 1);
      }
      break;
    }
  }
}

}  // namespace

size_t SkipSpace(absl::string_view text, size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

absl::Status SkipValue(absl::string_view text, size_t* pos) {
  size_t i = SkipSpace(text, *pos);
  absl::Status s = ScanValue(text, &i);
  if (s.ok()) *pos = i;
  return s;
}

absl::Status Validate(absl::string_view text) {
  size_t pos = 0;
  absl::Status s = SkipValue(text, &pos);
  if (!s.ok()) return s;
  if (SkipSpace(text, pos) != text.size()) {
    return Error("trailing characters", pos);
  }
  return absl::OkStatus();
}

absl::Status ParseString(absl::string_view text, size_t* pos,
                         std::string* out) {
  out->clear();
  return ScanString(text, pos, out);
}

absl::Status ParseStringValue(absl::string_view value, std::string* out) {
  size_t pos = SkipSpace(value, 0);
  absl::Status s = ParseString(value, &pos, out);
  if (!s.ok()) return s;
  if (SkipSpace(value, pos) != value.size()) {
    return Error("trailing characters", pos);
  }
  return absl::OkStatus();
}

void AppendQuoted(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;
    while (run < s.size()) {
      const auto c = static_cast<unsigned char>(s[run]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
      ++run;
    }
    out->append(s.data() + i, run - i);
    i = run;
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8Length(s, i);
      if (n == 0) {
        out->append("\xEF\xBF\xBD");  // U+FFFD
        ++i;
      } else {
        out->append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
    ++i;
  }
  out->push_back('"');
}

absl::Status ForEachMember(
    absl::string_view text,
    absl::FunctionRef<absl::Status(absl::string_view, absl::string_view)>
        member) {
  size_t i = SkipSpace(text, 0);
  if (i >= text.size() || text[i] != '{') return Error("expected object", i);
  i = SkipSpace(text, i + 1);
  std::string key;
  if (i < text.size() && text[i] == '}') {
    ++i;
  } else {
    while (true) {
      absl::Status s = ParseString(text, &i, &key);
      if (!s.ok()) return s;
      i = SkipSpace(text, i);
      if (i >= text.size() || text[i] != ':') return Error("expected ':'", i);
      size_t start = SkipSpace(text, i + 1);
      size_t end = start;
      s = SkipValue(text, &end);
      if (!s.ok()) return s;
      s = member(key, text.substr(start, end - start));
      if (!s.ok()) return s;
      i = SkipSpace(text, end);
      if (i < text.size() && text[i] == ',') {
        i = SkipSpace(text, i + 1);
        continue;
      }
      if (i < text.size() && text[i] == '}') {
        ++i;
        break;
      }
      return Error("expected ',' or '}'", i);
    }
  }
  if (SkipSpace(text, i) != text.size()) return Error("trailing characters", i);
  return absl::OkStatus();
}

absl::Status ForEachElement(
    absl::string_view text,
    absl::FunctionRef<absl::Status(absl::string_view)> element) {
  size_t i = SkipSpace(text, 0);
  if (i >= text.size() || text[i] != '[') return Error("expected array", i);
  i = SkipSpace(text, i + 1);
  if (i < text.size() && text[i] == ']') {
    ++i;
  } else {
    while (true) {
      size_t start = i;
      size_t end = start;
      absl::Status s = SkipValue(text, &end);
      if (!s.ok()) return s;
      s = element(text.substr(start, end - start));
      if (!s.ok()) return s;
      i = SkipSpace(text, end);
      if (i < text.size() && text[i] == ',') {
        i = SkipSpace(text, i + 1);
        continue;
      }
      if (i < text.size() && text[i] == ']') {
        ++i;
        break;
      }
      return Error("expected ',' or ']'", i);
    }
  }
  if (SkipSpace(text, i) != text.size()) return Error("trailing characters", i);
  return absl::OkStatus();
}

absl::Status ParseInt64(absl::string_view value, int64_t* out) {
  std::string digits;
  absl::string_view v = value;
  if (!v.empty() && v.front() == '"') {
    absl::Status s = ParseStringValue(value, &digits);
    if (!s.ok()) return s;
    v = digits;
  }
  size_t i = 0;
  bool negative = false;
  if (i < v.size() && v[i] == '-') {
    negative = true;
    ++i;
  }
  if (i >= v.size()) return absl::InvalidArgumentError("expected an integer");
  uint64_t magnitude = 0;
  const uint64_t limit =
      negative ? uint64_t{1} << 63 : uint64_t{std::numeric_limits<int64_t>::max()};
  for (; i < v.size(); ++i) {
    if (!IsDigit(v[i])) return absl::InvalidArgumentError("expected an integer");
    uint64_t d = static_cast<uint64_t>(v[i] - '0');
    if (magnitude > (limit - d) / 10) {
      return absl::InvalidArgumentError("integer out of range");
    }
    magnitude = magnitude * 10 + d;
  }
  *out = negative ? static_cast<int64_t>(0 - magnitude)
                  : static_cast<int64_t>(magnitude);
  return absl::OkStatus();
}

}  // namespace sserpc::json
