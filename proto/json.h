#ifndef SSERPC_PROTO_JSON_H_
#define SSERPC_PROTO_JSON_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// A small, strict (RFC 8259) JSON scanner for the envelope. Payloads are never
// turned into a tree: they are validated and carried as the exact text the
// peer sent. Errors are INVALID_ARGUMENT with the byte offset.
namespace sserpc::json {

// Deepest nesting of arrays and objects accepted anywhere.
inline constexpr int kMaxDepth = 64;

// Skips whitespace, then one complete JSON value starting at *pos, validating
// it (UTF-8 in strings included). On success *pos is just past the value.
absl::Status SkipValue(absl::string_view text, size_t* pos);

// OK if `text` is exactly one JSON value, optionally surrounded by whitespace.
absl::Status Validate(absl::string_view text);

// Parses the string literal starting at *pos (which must be '"'), decoding
// escapes into *out. On success *pos is just past the closing quote.
absl::Status ParseString(absl::string_view text, size_t* pos, std::string* out);

// Appends `s` as a JSON string literal. Invalid UTF-8 becomes U+FFFD, so the
// output is always valid JSON.
void AppendQuoted(absl::string_view s, std::string* out);

// Calls `member(key, value)` for each member of the object that is the whole of
// `text`, where `value` is the member's raw JSON text. Stops at the first
// non-OK status returned by `member` and returns it.
absl::Status ForEachMember(
    absl::string_view text,
    absl::FunctionRef<absl::Status(absl::string_view key, absl::string_view value)>
        member);

// Calls `element(value)` with the raw text of each element of the array that is
// the whole of `text`.
absl::Status ForEachElement(
    absl::string_view text,
    absl::FunctionRef<absl::Status(absl::string_view value)> element);

// Parses a JSON integer, or a string holding one (the proto3 JSON form of
// int64). Rejects fractions, exponents and values out of range.
absl::Status ParseInt64(absl::string_view value, int64_t* out);

// Decodes a value that must be a JSON string.
absl::Status ParseStringValue(absl::string_view value, std::string* out);

// First non-whitespace position at or after `pos`.
size_t SkipSpace(absl::string_view text, size_t pos);

}  // namespace sserpc::json

#endif  // SSERPC_PROTO_JSON_H_
