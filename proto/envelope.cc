#include "proto/envelope.h"

#include "absl/strings/str_cat.h"
#include "proto/json.h"
#include "proto/status_codes.h"

namespace sserpc {
namespace {

// proto3 JSON readers accept the original field name and its lowerCamelCase
// json_name; `snake` is e.g. "call_id" and `camel` "callId".
bool Is(absl::string_view key, absl::string_view snake,
        absl::string_view camel) {
  return key == snake || key == camel;
}

absl::Status Missing(absl::string_view what, absl::string_view field) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": missing \"", field, "\""));
}

absl::Status ParseCode(absl::string_view value, absl::StatusCode* code) {
  std::string name;
  absl::Status s = json::ParseStringValue(value, &name);
  if (!s.ok()) return s;
  if (!ParseStatusCodeName(name, code) || *code == absl::StatusCode::kOk) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown status code \"", name, "\""));
  }
  return absl::OkStatus();
}

absl::Status ParseErrorObject(absl::string_view text, absl::Status* out) {
  std::string message;
  absl::StatusCode code = absl::StatusCode::kOk;
  bool has_code = false;
  absl::Status s = json::ForEachMember(
      text, [&](absl::string_view key, absl::string_view value) {
        if (key == "code") {
          has_code = true;
          return ParseCode(value, &code);
        }
        if (key == "message") return json::ParseStringValue(value, &message);
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (!has_code) return Missing("error", "code");
  *out = absl::Status(code, message);
  return absl::OkStatus();
}

}  // namespace

void AppendRequestData(absl::string_view call_id, absl::string_view method,
                       int64_t timeout_ms, absl::string_view payload_json,
                       std::string* out) {
  out->append("{\"call_id\":");
  json::AppendQuoted(call_id, out);
  out->append(",\"method\":");
  json::AppendQuoted(method, out);
  absl::StrAppend(out, ",\"timeout_ms\":", timeout_ms, ",\"payload\":");
  out->append(payload_json.data(), payload_json.size());
  out->push_back('}');
}

absl::StatusOr<RequestEnvelope> ParseRequestData(absl::string_view data) {
  RequestEnvelope r;
  bool has_payload = false;
  bool has_timeout = false;
  absl::Status s = json::ForEachMember(
      data, [&](absl::string_view key, absl::string_view value) {
        if (Is(key, "call_id", "callId")) {
          return json::ParseStringValue(value, &r.call_id);
        }
        if (key == "method") return json::ParseStringValue(value, &r.method);
        if (Is(key, "timeout_ms", "timeoutMs")) {
          has_timeout = true;
          return json::ParseInt64(value, &r.timeout_ms);
        }
        if (key == "payload") {
          has_payload = true;
          r.payload.assign(value.data(), value.size());
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (r.call_id.empty()) return Missing("request", "call_id");
  if (r.method.empty()) return Missing("request", "method");
  if (!has_timeout) return Missing("request", "timeout_ms");
  if (!has_payload) r.payload = "{}";
  return r;
}

void AppendCancelData(absl::string_view call_id, absl::StatusCode code,
                      std::string* out) {
  out->append("{\"call_id\":");
  json::AppendQuoted(call_id, out);
  out->append(",\"code\":\"");
  out->append(StatusCodeName(code));
  out->append("\"}");
}

absl::StatusOr<CancelEnvelope> ParseCancelData(absl::string_view data) {
  CancelEnvelope c;
  absl::Status s = json::ForEachMember(
      data, [&](absl::string_view key, absl::string_view value) {
        if (Is(key, "call_id", "callId")) {
          return json::ParseStringValue(value, &c.call_id);
        }
        if (key == "code") return ParseCode(value, &c.code);
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (c.call_id.empty()) return Missing("cancel", "call_id");
  return c;
}

void AppendSessionData(absl::string_view client_id, int64_t heartbeat_ms,
                       bool protobuf_payloads, std::string* out) {
  out->append("{\"client_id\":");
  json::AppendQuoted(client_id, out);
  absl::StrAppend(out, ",\"heartbeat_ms\":", heartbeat_ms);
  if (protobuf_payloads) out->append(",\"payloads\":\"protobuf\"");
  out->push_back('}');
}

absl::StatusOr<SessionEnvelope> ParseSessionData(absl::string_view data) {
  SessionEnvelope e;
  absl::Status s = json::ForEachMember(
      data, [&](absl::string_view key, absl::string_view value) {
        if (Is(key, "client_id", "clientId")) {
          return json::ParseStringValue(value, &e.client_id);
        }
        if (Is(key, "heartbeat_ms", "heartbeatMs")) {
          return json::ParseInt64(value, &e.heartbeat_ms);
        }
        if (key == "payloads") {
          std::string payloads;
          absl::Status s = json::ParseStringValue(value, &payloads);
          e.protobuf_payloads = payloads == "protobuf";
          return s;
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (e.client_id.empty()) return Missing("session", "client_id");
  return e;
}

void AppendReply(const ReplyEnvelope& reply, std::string* out) {
  out->append("{\"call_id\":");
  json::AppendQuoted(reply.call_id, out);
  if (reply.error.ok()) {
    out->append(",\"payload\":");
    out->append(reply.payload.empty() ? std::string("{}") : reply.payload);
  } else {
    out->append(",\"error\":");
    AppendErrorObject(reply.error, out);
  }
  out->push_back('}');
}

absl::StatusOr<ReplyEnvelope> ParseReply(absl::string_view object) {
  ReplyEnvelope r;
  bool has_payload = false;
  bool has_error = false;
  absl::Status s = json::ForEachMember(
      object, [&](absl::string_view key, absl::string_view value) {
        if (Is(key, "call_id", "callId")) {
          return json::ParseStringValue(value, &r.call_id);
        }
        if (key == "payload") {
          has_payload = true;
          r.payload.assign(value.data(), value.size());
          return absl::OkStatus();
        }
        if (key == "error") {
          has_error = true;
          return ParseErrorObject(value, &r.error);
        }
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (r.call_id.empty()) return Missing("reply", "call_id");
  if (has_payload == has_error) {
    return absl::InvalidArgumentError(
        "reply: exactly one of \"payload\" and \"error\" is required");
  }
  return r;
}

absl::Status ParseReplies(absl::string_view body,
                          std::vector<ReplyEnvelope>* replies,
                          bool* is_batch) {
  replies->clear();
  size_t first = json::SkipSpace(body, 0);
  if (first < body.size() && body[first] == '[') {
    *is_batch = true;
    absl::Status s = json::ForEachElement(body, [&](absl::string_view v) {
      absl::StatusOr<ReplyEnvelope> r = ParseReply(v);
      if (!r.ok()) return r.status();
      replies->push_back(*std::move(r));
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
    if (replies->empty()) return absl::InvalidArgumentError("empty batch");
    return absl::OkStatus();
  }
  *is_batch = false;
  absl::StatusOr<ReplyEnvelope> r = ParseReply(body);
  if (!r.ok()) return r.status();
  replies->push_back(*std::move(r));
  return absl::OkStatus();
}

void AppendErrorObject(const absl::Status& status, std::string* out) {
  out->append("{\"code\":\"");
  out->append(StatusCodeName(status.code()));
  out->append("\",\"message\":");
  json::AppendQuoted(status.message(), out);
  out->push_back('}');
}

std::string ErrorBody(const absl::Status& status) {
  std::string out;
  AppendErrorObject(status, &out);
  return out;
}

absl::Status ParseErrorBody(absl::string_view body, absl::StatusCode fallback) {
  absl::Status parsed;
  if (ParseErrorObject(body, &parsed).ok() && !parsed.ok()) return parsed;
  return absl::Status(fallback, body);
}

}  // namespace sserpc
