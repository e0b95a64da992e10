#ifndef SSERPC_SERVER_REPLIES_FAST_PATH_H_
#define SSERPC_SERVER_REPLIES_FAST_PATH_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

// The answer POST (`POST /sserpc/v1/clients/{id}/replies`) is the one request
// every call costs, so GuardedServer serves its common shape itself instead of
// through cpp-httplib's request machinery (header multimap, std::regex
// routing, Request/Response objects). Everything here decides whether a
// request head has exactly that shape, where httplib would provably do the
// same as the fast path; anything else is handed to httplib unchanged.
namespace sserpc::server_internal {

// What the replies endpoint answers, without transport: HttpService fills it
// for both paths (httplib's handler and the fast path).
struct RepliesAnswer {
  int status = 204;
  // Empty: no body and no Content-Type (204). Always a string literal
  // (kJson, kProtobufContentType, ...), so the view never dangles.
  absl::string_view content_type;
  std::string body;
  // 401: the response carries `WWW-Authenticate: Bearer`.
  bool www_authenticate = false;
};

// Implemented by HttpService; called on connection threads.
class RepliesEndpoint {
 public:
  // Authorizes and handles one replies POST whose body has been read whole.
  virtual RepliesAnswer AnswerReplies(absl::string_view client_id,
                                      absl::string_view authorization,
                                      absl::string_view content_type,
                                      absl::string_view body) = 0;
  // The response httplib's error handler gives when httplib itself refuses
  // a request with `status` (400: body cut short; 413: Content-Length over
  // max_body_bytes), counted as that handler counts it.
  virtual RepliesAnswer HttplibError(int status) = 0;
  // Runs `serve`, which answers one POST and writes its response. What
  // answering queued for streams (the requests of calls the answers'
  // completions start) is sent when `serve` has returned: the client's
  // response goes first.
  virtual void ServeInWriteBatch(absl::FunctionRef<void()> serve) = 0;

 protected:
  ~RepliesEndpoint() = default;
};

// The header fields of a replies POST that matter, as httplib would see them
// (first occurrence of each name, value trimmed of spaces and tabs).
struct RepliesHead {
  absl::string_view client_id;
  absl::string_view authorization;
  absl::string_view content_type;
  absl::string_view connection;
  uint64_t content_length = 0;
};

// `line` is the request line including its CRLF. True for exactly
// `POST /sserpc/v1/clients/<id>/replies HTTP/1.1\r\n` with an id of 1 to 128
// characters of [A-Za-z0-9._-] (so httplib's path decoding and routing
// would find the same id, and the path is far under 512 bytes); sets
// `client_id` (a view into `line`).
bool ParseRepliesRequestLine(absl::string_view line, absl::string_view* client_id);

// `fields` is the head after the request line, up to and including the
// blank line that ends it. True when every line is a well-formed field that
// httplib would parse the same way and the request is a plain
// Content-Length POST whose handling by httplib the fast path reproduces:
// a decimal Content-Length, no Transfer-Encoding, Expect, Content-Encoding,
// Range or Accept-Encoding (httplib would compress the response), no form
// Content-Type (httplib parses those bodies), and no '%' in any value
// (httplib URL-decodes header values). Fills `head` (views into `fields`)
// but not its client_id.
bool ParseRepliesHeaders(absl::string_view fields, RepliesHead* head);

// The reason phrase httplib 0.11.4 writes for `status`, for every status
// the replies endpoint can answer (HttpStatusForCode's, 204 and 413).
const char* ReasonPhrase(int status);

// Appends the response httplib would write for `answer`: status line, then
// the headers in httplib's (case-insensitive alphabetical) order
// (Connection: close, or Keep-Alive with httplib's `timeout=..., max=...`,
// Content-Length, Content-Type, WWW-Authenticate), then the body.
void AppendRepliesResponse(const RepliesAnswer& answer, bool close_connection,
                           int64_t keep_alive_timeout_sec,
                           uint64_t keep_alive_max_count, std::string* out);

// Test hooks: whether new connections use the fast path (default true;
// tests turn it off to get httplib's own responses to compare with), and
// how many requests it has answered in this process.
void SetRepliesFastPathEnabled(bool enabled);
bool RepliesFastPathEnabled();
void CountRepliesFastPathServed();
uint64_t RepliesFastPathServed();

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_REPLIES_FAST_PATH_H_
