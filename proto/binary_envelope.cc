#include "proto/binary_envelope.h"

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/status_codes.h"

namespace sserpc {
namespace {

// Protobuf wire types (the low three bits of a field's tag).
enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

// Field numbers, as in proto/envelope.proto.
namespace field {
constexpr uint32_t kRequestCallId = 1, kRequestMethod = 2,
                   kRequestTimeoutMs = 3, kRequestPayloadJson = 4,
                   kRequestPayloadProto = 5;
constexpr uint32_t kReplyCallId = 1, kReplyPayloadJson = 2, kReplyError = 3,
                   kReplyPayloadProto = 4;
constexpr uint32_t kErrorCode = 1, kErrorMessage = 2;
constexpr uint32_t kBatchReplies = 1;
constexpr uint32_t kResultCallId = 1, kResultStatus = 2, kResultCode = 3,
                   kResultMessage = 4;
constexpr uint32_t kResultsResults = 1;
}  // namespace field

void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void AppendTag(uint32_t field_number, WireType type, std::string* out) {
  AppendVarint((static_cast<uint64_t>(field_number) << 3) | type, out);
}

// A length-delimited field, written even when empty (oneof members are).
void AppendBytesField(uint32_t field_number, absl::string_view bytes,
                      std::string* out) {
  AppendTag(field_number, kLengthDelimited, out);
  AppendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

// A singular proto3 field: omitted when it has its default value.
void AppendStringField(uint32_t field_number, absl::string_view s,
                       std::string* out) {
  if (!s.empty()) AppendBytesField(field_number, s, out);
}
void AppendIntField(uint32_t field_number, int64_t v, std::string* out) {
  if (v == 0) return;
  AppendTag(field_number, kVarint, out);
  AppendVarint(static_cast<uint64_t>(v), out);  // negatives take 10 bytes
}

size_t BytesFieldSize(uint32_t field_number, size_t n) {
  return VarintSize(field_number << 3) + VarintSize(n) + n;
}
size_t StringFieldSize(uint32_t field_number, absl::string_view s) {
  return s.empty() ? 0 : BytesFieldSize(field_number, s.size());
}

// Reads one message's fields from a buffer.
class WireReader {
 public:
  explicit WireReader(absl::string_view data) : data_(data) {}

  bool done() const { return pos_ >= data_.size(); }

  // Reads the next field's tag. INVALID_ARGUMENT for field number 0 or a
  // group (deprecated, never used by this protocol).
  absl::Status ReadTag(uint32_t* field_number, WireType* type) {
    uint64_t tag = 0;
    if (!ReadVarint(&tag)) return Error("truncated or overlong tag");
    *type = static_cast<WireType>(tag & 7);
    const uint64_t number = tag >> 3;
    if (number == 0 || number > 0x1fffffff) return Error("bad field number");
    if (*type == kStartGroup || *type == kEndGroup || *type > kFixed32) {
      return Error("unsupported wire type");
    }
    *field_number = static_cast<uint32_t>(number);
    return absl::OkStatus();
  }

  absl::Status ReadVarintField(WireType type, uint64_t* v) {
    if (type != kVarint) return Error("expected a varint field");
    if (!ReadVarint(v)) return Error("truncated or overlong varint");
    return absl::OkStatus();
  }

  absl::Status ReadBytesField(WireType type, absl::string_view* bytes) {
    if (type != kLengthDelimited) return Error("expected a length-delimited field");
    uint64_t n = 0;
    if (!ReadVarint(&n)) return Error("truncated or overlong length");
    if (n > data_.size() - pos_) return Error("length past the end");
    *bytes = data_.substr(pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }

  // Skips a field this reader does not know.
  absl::Status Skip(WireType type) {
    switch (type) {
      case kVarint: {
        uint64_t v;
        return ReadVarintField(type, &v);
      }
      case kLengthDelimited: {
        absl::string_view b;
        return ReadBytesField(type, &b);
      }
      case kFixed64:
      case kFixed32: {
        const size_t n = type == kFixed64 ? 8 : 4;
        if (n > data_.size() - pos_) return Error("truncated fixed field");
        pos_ += n;
        return absl::OkStatus();
      }
      default:
        return Error("unsupported wire type");
    }
  }

 private:
  bool ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && b > 1) return false;  // more than 64 bits
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("protobuf: ", what, " at byte ", pos_));
  }

  absl::string_view data_;
  size_t pos_ = 0;
};

// Calls `element` with the bytes of each occurrence of the repeated message
// field `field_number` of the message in `body`; skips every other field.
absl::Status ForEachRepeated(
    absl::string_view body, uint32_t field_number,
    absl::FunctionRef<absl::Status(absl::string_view)> element) {
  WireReader r(body);
  while (!r.done()) {
    uint32_t number = 0;
    WireType type = kVarint;
    absl::Status s = r.ReadTag(&number, &type);
    absl::string_view v;
    if (s.ok() && number != field_number) {
      s = r.Skip(type);
    } else if (s.ok()) {
      s = r.ReadBytesField(type, &v);
      if (s.ok()) s = element(v);
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Malformed(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
}

absl::Status ParseErrorProto(absl::string_view bytes, absl::Status* out) {
  WireReader r(bytes);
  std::string code_name;
  absl::string_view message;
  bool has_code = false;
  while (!r.done()) {
    uint32_t number = 0;
    WireType type = kVarint;
    absl::Status s = r.ReadTag(&number, &type);
    absl::string_view v;
    if (s.ok() && number == field::kErrorCode) {
      s = r.ReadBytesField(type, &v);
      code_name.assign(v.data(), v.size());
      has_code = true;
    } else if (s.ok() && number == field::kErrorMessage) {
      s = r.ReadBytesField(type, &message);
    } else if (s.ok()) {
      s = r.Skip(type);
    }
    if (!s.ok()) return s;
  }
  if (!has_code) return Malformed("error", "missing \"code\"");
  absl::StatusCode code;
  if (!ParseStatusCodeName(code_name, &code) || code == absl::StatusCode::kOk) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown status code \"", code_name, "\""));
  }
  *out = absl::Status(code, message);
  return absl::OkStatus();
}

absl::StatusOr<ReplyEnvelope> ParseReplyProto(absl::string_view bytes) {
  ReplyEnvelope reply;
  reply.protobuf = true;
  WireReader r(bytes);
  // Which members of the `result` oneof were seen (a member repeated is
  // one member: protobuf keeps its last value).
  bool has_payload = false;
  bool has_error = false;
  while (!r.done()) {
    uint32_t number = 0;
    WireType type = kVarint;
    absl::Status s = r.ReadTag(&number, &type);
    absl::string_view v;
    if (!s.ok()) return s;
    switch (number) {
      case field::kReplyCallId:
        s = r.ReadBytesField(type, &v);
        reply.call_id.assign(v.data(), v.size());
        break;
      case field::kReplyPayloadProto:
        s = r.ReadBytesField(type, &v);
        reply.payload.assign(v.data(), v.size());
        has_payload = true;
        break;
      case field::kReplyError:
        s = r.ReadBytesField(type, &v);
        if (s.ok()) s = ParseErrorProto(v, &reply.error);
        has_error = true;
        break;
      case field::kReplyPayloadJson:
        return Malformed("reply",
                         "a binary body carries \"payload_proto\" (4), not "
                         "the JSON \"payload\" (2)");
      default:
        s = r.Skip(type);
    }
    if (!s.ok()) return s;
  }
  if (reply.call_id.empty()) return Malformed("reply", "missing \"call_id\"");
  if (has_payload == has_error) {
    return Malformed("reply",
                     "exactly one of \"payload_proto\" and \"error\" is required");
  }
  if (!reply.error.ok()) reply.payload.clear();
  return reply;
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool IsProtobufContentType(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  type = absl::StripAsciiWhitespace(type);
  return absl::EqualsIgnoreCase(type, "application/x-protobuf") ||
         absl::EqualsIgnoreCase(type, "application/protobuf");
}

void AppendBase64(absl::string_view bytes, std::string* out) {
  const size_t start = out->size();
  out->resize(start + (bytes.size() + 2) / 3 * 4);
  char* w = out->data() + start;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  for (; n >= 3; n -= 3, p += 3) {
    const uint32_t v = (p[0] << 16) | (p[1] << 8) | p[2];
    *w++ = kBase64Alphabet[v >> 18];
    *w++ = kBase64Alphabet[(v >> 12) & 63];
    *w++ = kBase64Alphabet[(v >> 6) & 63];
    *w++ = kBase64Alphabet[v & 63];
  }
  if (n > 0) {
    const uint32_t v = (p[0] << 16) | (n == 2 ? p[1] << 8 : 0);
    *w++ = kBase64Alphabet[v >> 18];
    *w++ = kBase64Alphabet[(v >> 12) & 63];
    *w++ = n == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=';
    *w++ = '=';
  }
}

absl::Status DecodeBase64(absl::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 != 0) {
    return absl::InvalidArgumentError(
        "base64: length is not a multiple of 4 (padding is required)");
  }
  out->reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        ++pad;
        v[k] = 0;
        continue;
      }
      v[k] = pad > 0 ? -1 : Base64Value(c);  // no data after padding
      if (v[k] < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("base64: invalid character at offset ", i + k));
      }
    }
    const uint32_t bits = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    // Bits below the last encoded byte must be zero (canonical form).
    if ((pad == 1 && (bits & 0xff) != 0) || (pad == 2 && (bits & 0xffff) != 0)) {
      return absl::InvalidArgumentError("base64: non-zero padding bits");
    }
    out->push_back(static_cast<char>(bits >> 16));
    if (pad < 2) out->push_back(static_cast<char>((bits >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(bits & 0xff));
  }
  return absl::OkStatus();
}

void AppendRequestDataProto(absl::string_view call_id, absl::string_view method,
                            int64_t timeout_ms, absl::string_view payload_proto,
                            std::string* out) {
  // Built in a per-thread buffer, then base64-ed into `out`: the stream
  // writer formats every request, and this keeps it allocation-free once warm.
  thread_local std::string binary;
  binary.clear();
  binary.reserve(StringFieldSize(field::kRequestCallId, call_id) +
                 StringFieldSize(field::kRequestMethod, method) + 11 +
                 BytesFieldSize(field::kRequestPayloadProto, payload_proto.size()));
  AppendStringField(field::kRequestCallId, call_id, &binary);
  AppendStringField(field::kRequestMethod, method, &binary);
  AppendIntField(field::kRequestTimeoutMs, timeout_ms, &binary);
  // Singular proto3 bytes: omitted when empty (an empty message).
  AppendStringField(field::kRequestPayloadProto, payload_proto, &binary);
  AppendBase64(binary, out);
  if (binary.capacity() > (64 << 10)) std::string().swap(binary);
}

absl::StatusOr<RequestEnvelope> ParseRequestDataProto(absl::string_view data) {
  thread_local std::string binary;  // the fields kept are copied out of it
  // Like the encoder's buffer: a rare large request is not kept for the
  // life of the stream thread.
  auto trim = absl::MakeCleanup([] {
    if (binary.capacity() > (64 << 10)) std::string().swap(binary);
  });
  absl::Status s = DecodeBase64(data, &binary);
  if (!s.ok()) return Malformed("request-proto", s.message());
  RequestEnvelope r;
  r.protobuf = true;
  WireReader reader(binary);
  while (!reader.done()) {
    uint32_t number = 0;
    WireType type = kVarint;
    s = reader.ReadTag(&number, &type);
    if (!s.ok()) return s;
    absl::string_view v;
    uint64_t u = 0;
    switch (number) {
      case field::kRequestCallId:
        s = reader.ReadBytesField(type, &v);
        r.call_id.assign(v.data(), v.size());
        break;
      case field::kRequestMethod:
        s = reader.ReadBytesField(type, &v);
        r.method.assign(v.data(), v.size());
        break;
      case field::kRequestTimeoutMs:
        s = reader.ReadVarintField(type, &u);
        r.timeout_ms = static_cast<int64_t>(u);
        break;
      case field::kRequestPayloadProto:
        s = reader.ReadBytesField(type, &v);
        r.payload.assign(v.data(), v.size());
        break;
      case field::kRequestPayloadJson:
        return Malformed("request-proto",
                         "carries \"payload_proto\" (5), not the JSON "
                         "\"payload\" (4)");
      default:
        s = reader.Skip(type);
    }
    if (!s.ok()) return s;
  }
  if (r.call_id.empty()) return Malformed("request-proto", "missing \"call_id\"");
  if (r.method.empty()) return Malformed("request-proto", "missing \"method\"");
  if (r.timeout_ms <= 0) {
    return Malformed("request-proto", "\"timeout_ms\" missing or not positive");
  }
  return r;
}

void AppendReplyProto(const ReplyEnvelope& reply, std::string* out) {
  size_t inner = StringFieldSize(field::kReplyCallId, reply.call_id);
  std::string error;
  if (reply.error.ok()) {
    inner += BytesFieldSize(field::kReplyPayloadProto, reply.payload.size());
  } else {
    AppendStringField(field::kErrorCode, StatusCodeName(reply.error.code()),
                      &error);
    AppendStringField(field::kErrorMessage, reply.error.message(), &error);
    inner += BytesFieldSize(field::kReplyError, error.size());
  }
  AppendTag(field::kBatchReplies, kLengthDelimited, out);
  AppendVarint(inner, out);
  AppendStringField(field::kReplyCallId, reply.call_id, out);
  if (reply.error.ok()) {
    AppendBytesField(field::kReplyPayloadProto, reply.payload, out);  // oneof
  } else {
    AppendBytesField(field::kReplyError, error, out);
  }
}

absl::Status ParseRepliesProto(absl::string_view body,
                               std::vector<ReplyEnvelope>* replies) {
  replies->clear();
  absl::Status s = ForEachRepeated(
      body, field::kBatchReplies, [&](absl::string_view v) {
        absl::StatusOr<ReplyEnvelope> reply = ParseReplyProto(v);
        if (!reply.ok()) return reply.status();
        replies->push_back(*std::move(reply));
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (replies->empty()) return absl::InvalidArgumentError("empty batch");
  return absl::OkStatus();
}

void AppendReplyResultProto(absl::string_view call_id, int http_status,
                            const absl::Status& status, std::string* out) {
  std::string inner;
  AppendStringField(field::kResultCallId, call_id, &inner);
  AppendIntField(field::kResultStatus, http_status, &inner);
  if (!status.ok()) {
    AppendStringField(field::kResultCode, StatusCodeName(status.code()), &inner);
    AppendStringField(field::kResultMessage, status.message(), &inner);
  }
  AppendBytesField(field::kResultsResults, inner, out);
}

absl::Status ForEachReplyResultProto(
    absl::string_view body,
    absl::FunctionRef<void(absl::string_view call_id, int http_status)> result) {
  return ForEachRepeated(
      body, field::kResultsResults, [&](absl::string_view v) {
        WireReader item(v);
        absl::string_view call_id;
        uint64_t http_status = 0;
        while (!item.done()) {
          uint32_t number = 0;
          WireType type = kVarint;
          absl::Status s = item.ReadTag(&number, &type);
          if (s.ok() && number == field::kResultCallId) {
            s = item.ReadBytesField(type, &call_id);
          } else if (s.ok() && number == field::kResultStatus) {
            s = item.ReadVarintField(type, &http_status);
          } else if (s.ok()) {
            s = item.Skip(type);
          }
          if (!s.ok()) return s;
        }
        result(call_id, static_cast<int>(static_cast<int32_t>(http_status)));
        return absl::OkStatus();
      });
}

}  // namespace sserpc
