#include "server/replies_fast_path.h"

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sserpc::server_internal {
namespace {

std::atomic<bool> fast_path_enabled{true};
std::atomic<uint64_t> fast_path_served{0};

constexpr absl::string_view kLinePrefix = "POST /sserpc/v1/clients/";
constexpr absl::string_view kLineSuffix = "/replies HTTP/1.1\r\n";
constexpr size_t kMaxClientIdBytes = 128;

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

// RFC 7230 tchar: a field name made of these is one httplib keeps as is.
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
    case '+': case '-': case '.': case '^': case '_': case '`': case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// (absl 20220623 has no StrContainsIgnoreCase.)
bool ContainsIgnoreCase(absl::string_view haystack, absl::string_view needle) {
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (absl::EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool ParseRepliesRequestLine(absl::string_view line,
                             absl::string_view* client_id) {
  if (!absl::ConsumePrefix(&line, kLinePrefix) ||
      !absl::ConsumeSuffix(&line, kLineSuffix)) {
    return false;
  }
  if (line.empty() || line.size() > kMaxClientIdBytes) return false;
  for (char c : line) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  *client_id = line;
  return true;
}

bool ParseRepliesHeaders(absl::string_view fields, RepliesHead* head) {
  bool have_length = false;
  bool have_authorization = false;
  bool have_content_type = false;
  bool have_connection = false;
  while (true) {
    const size_t eol = fields.find("\r\n");
    if (eol == absl::string_view::npos) return false;
    absl::string_view line = fields.substr(0, eol);
    fields.remove_prefix(eol + 2);
    if (line.empty()) return fields.empty() && have_length;
    // httplib skips a line that ends in a bare LF; the head is then not one
    // this parser has reasoned about.
    const size_t colon = line.find(':');
    if (colon == 0 || colon == absl::string_view::npos) return false;
    absl::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!IsTokenChar(c)) return false;
    }
    absl::string_view value = line.substr(colon + 1);
    while (!value.empty() && IsSpaceOrTab(value.front())) value.remove_prefix(1);
    while (!value.empty() && IsSpaceOrTab(value.back())) value.remove_suffix(1);
    // httplib drops a field without value; it URL-decodes values ('%').
    if (value.empty()) return false;
    for (char c : value) {
      const unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f || c == '%') return false;
    }
    if (absl::EqualsIgnoreCase(name, "Content-Length")) {
      if (!have_length) {
        if (value.size() > 19) return false;
        for (char c : value) {
          if (!absl::ascii_isdigit(c)) return false;
        }
        if (!absl::SimpleAtoi(value, &head->content_length)) return false;
        have_length = true;
      }
    } else if (absl::EqualsIgnoreCase(name, "Content-Type")) {
      if (!have_content_type) {
        // httplib reads multipart and URL-encoded form bodies itself.
        if (ContainsIgnoreCase(value, "multipart") ||
            ContainsIgnoreCase(value, "x-www-form-urlencoded")) {
          return false;
        }
        head->content_type = value;
        have_content_type = true;
      }
    } else if (absl::EqualsIgnoreCase(name, "Authorization")) {
      if (!have_authorization) head->authorization = value;
      have_authorization = true;
    } else if (absl::EqualsIgnoreCase(name, "Connection")) {
      if (!have_connection) head->connection = value;
      have_connection = true;
    } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding") ||
               absl::EqualsIgnoreCase(name, "Expect") ||
               absl::EqualsIgnoreCase(name, "Content-Encoding") ||
               absl::EqualsIgnoreCase(name, "Range") ||
               absl::EqualsIgnoreCase(name, "Accept-Encoding")) {
      return false;
    }
  }
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    // httplib has no phrase of its own for 499 (nor for 500 than this one).
    default: return "Internal Server Error";
  }
}

void AppendRepliesResponse(const RepliesAnswer& answer, bool close_connection,
                           int64_t keep_alive_timeout_sec,
                           uint64_t keep_alive_max_count, std::string* out) {
  absl::StrAppend(out, "HTTP/1.1 ", answer.status, " ",
                  ReasonPhrase(answer.status), "\r\n");
  if (close_connection) {
    out->append("Connection: close\r\n");
  }
  absl::StrAppend(out, "Content-Length: ", answer.body.size(), "\r\n");
  if (!answer.content_type.empty()) {
    absl::StrAppend(out, "Content-Type: ", answer.content_type, "\r\n");
  }
  if (!close_connection) {
    absl::StrAppend(out, "Keep-Alive: timeout=", keep_alive_timeout_sec,
                    ", max=", keep_alive_max_count, "\r\n");
  }
  if (answer.www_authenticate) out->append("WWW-Authenticate: Bearer\r\n");
  out->append("\r\n");
  out->append(answer.body);
}

void SetRepliesFastPathEnabled(bool enabled) {
  fast_path_enabled.store(enabled, std::memory_order_relaxed);
}

bool RepliesFastPathEnabled() {
  return fast_path_enabled.load(std::memory_order_relaxed);
}

void CountRepliesFastPathServed() {
  fast_path_served.fetch_add(1, std::memory_order_relaxed);
}

uint64_t RepliesFastPathServed() {
  return fast_path_served.load(std::memory_order_relaxed);
}

}  // namespace sserpc::server_internal
