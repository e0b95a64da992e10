#ifndef SSERPC_CLIENT_HTTP_CONNECTION_H_
#define SSERPC_CLIENT_HTTP_CONNECTION_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sserpc::client_internal {

struct HttpResponse {
  int status = 0;
  std::string content_type;  // the Content-Type header's value, "" if none
  std::string body;
};

// Host and port of an "http://host[:port]" URL (ServerUrl::scheme_host_port).
struct HttpHostPort {
  // As written in the URL: a name, an IPv4 literal, or an IPv6 literal in
  // brackets ("[::1]").
  std::string host;
  int port = 80;
};

// INVALID_ARGUMENT unless `scheme_host_port` is "http://" followed by a
// host and an optional port (1-65535) and nothing else.
absl::StatusOr<HttpHostPort> ParseHttpHostPort(
    absl::string_view scheme_host_port);

// One HTTP/1.1 connection to one server, over plain TCP: what the client
// needs and nothing more, for its answer POSTs (kept alive) and for its SSE
// stream (a GET whose body is read as it arrives). It replaces cpp-httplib's
// Client there, which polls before every read and write, builds header maps
// for every request and response and sends the head and the body
// separately: here a request leaves in one sendmsg(), a read is one recv()
// that blocks up to the timeout (SO_RCVTIMEO) instead of a poll() and a
// recv(), and the buffers are kept from one request to the next.
//
// The connection is opened by the first Post() and kept open between posts
// unless the server closes it (or says it will); an error always closes it,
// so that the next Post() starts from a clean connection. OpenStream()
// always opens a connection of its own.
//
// Not thread-safe: one thread at a time, except for Interrupt(), and
// AwaitInput() while SendPost() runs (see there).
class HttpConnection {
 public:
  // `host` as in HttpHostPort (a bracketed IPv6 literal is unbracketed for
  // the lookup and sent bracketed in the Host header). `bearer_token`, when
  // not empty, goes in "Authorization: Bearer <token>". `connect_timeout`
  // bounds each connection attempt (per address), `io_timeout` each wait
  // for the socket to take more of the request or give more of the
  // response. Responses with a body over `max_response_body_bytes` fail.
  HttpConnection(std::string host, int port, std::string bearer_token,
                 absl::Duration connect_timeout, absl::Duration io_timeout,
                 size_t max_response_body_bytes);
  ~HttpConnection();

  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // POSTs `body` to `path` (which starts with '/'), connecting first if
  // needed, and reads the whole response. Any status the server answers
  // with is a response, not an error. Errors: UNAVAILABLE (could not
  // connect, connection reset or closed early, malformed or oversized
  // response), DEADLINE_EXCEEDED (a connect or a wait timed out),
  // INVALID_ARGUMENT (CR or LF in the path, content type or token).
  absl::StatusOr<HttpResponse> Post(absl::string_view path,
                                    absl::string_view content_type,
                                    absl::string_view body);

  // A POST split between two threads (ReplySender): one sends the request
  // while the other is blocked in AwaitInput(), which returns when the
  // response (or anything else) arrives; that thread then reads the
  // response with FinishPost(). SendPost() never connects (without an open
  // connection FinishPost() fails with UNAVAILABLE, unanswered) and never
  // waits: a request the socket does not take at once fails the same way,
  // and EndAwaitInput() is called (waking AwaitInput()). The two threads must
  // hand over (a mutex) between SendPost() returning and FinishPost()
  // starting, and neither may run anything else on this connection
  // meanwhile; AwaitInput() may run while SendPost() does.
  void SendPost(absl::string_view path, absl::string_view content_type,
                absl::string_view body);
  // The response of SendPost()'s request, as Post() returns it; on failure
  // the connection is closed and `*unanswered` tells whether no byte of a
  // response arrived (the server most likely closed the connection while
  // it was idle: the request may be sent again on a new one).
  absl::StatusOr<HttpResponse> FinishPost(bool* unanswered);
  enum class Input { kData, kClosed, kTimeout };
  // Waits up to io_timeout for the open connection to have input, keeping
  // any bytes for the next response read. kClosed: EOF, an error, or no
  // connection. Between requests any input means the connection is out of
  // step (a proxy's 408, the server closing it): the caller closes it.
  Input AwaitInput();

  // From any thread: makes a blocked AwaitInput() return kClosed (the
  // connection stops receiving; its owner closes it). Unlike Interrupt(),
  // later connections are not affected.
  void EndAwaitInput();

  // Streams a response body (an SSE stream): GETs `path` on a connection of
  // its own (closing any open one), with `headers` (complete header lines,
  // each ending in CRLF) after Host and Authorization, and reads the
  // response head. Returns the status, whatever it is; the body, a
  // refusal's too, is then read with ReadStream(). Errors as Post()'s, and
  // CANCELLED after Interrupt(). Reads wait up to `io_timeout` each.
  absl::StatusOr<int> OpenStream(absl::string_view path,
                                 absl::string_view headers);
  enum class StreamRead { kData, kEnd, kError };
  // The next bytes of the body OpenStream() opened, as they arrive, without
  // the chunked framing: kData with *data set (valid until the next call),
  // kEnd once the body is complete (or the server closed a body that ends
  // with the connection), kError with *error (DEADLINE_EXCEEDED after
  // io_timeout without a byte; UNAVAILABLE if the connection ends early or
  // the framing is malformed).
  StreamRead ReadStream(absl::string_view* data, absl::Status* error);

  // Asks the kernel to delay acknowledgements on socket `fd`
  // (TCP_QUICKACK 0): a stream's socket only receives, and would otherwise
  // acknowledge most reads with a segment of its own. The kernel forgets it
  // after a quiet moment, so a reader asks again now and then. Advisory.
  static void DelayAcks(int fd);
  // The open connection's socket, -1 if none (for socket options).
  int fd() const { return fd_; }

  // From any thread: makes a blocked connect, send or read of this
  // connection return (as a closed connection would) and fails every later
  // connect with CANCELLED. For stopping a stream's reader.
  void Interrupt();

  // Closes the connection, if open; the next Post() opens a new one.
  void Close();

  bool connected() const { return fd_ >= 0; }
  // Connected, with no unread input buffered (what AwaitInput() requires
  // for its input to be a new response).
  bool idle() const { return fd_ >= 0 && begin_ == end_; }
  // Connections opened so far.
  uint64_t connects() const { return connects_; }
  // Requests sent again on a new connection because the reused one turned
  // out to be closed by the server.
  uint64_t resends() const { return resends_; }

 private:
  enum class Recv { kData, kEof, kError };

  // True if the open connection has anything to read (bytes, EOF, an
  // error) between requests, when the server should have sent nothing.
  bool IdleConnectionHasInput() const;
  absl::Status Connect();
  absl::Status ConnectTo(const void* addr, unsigned addr_len, int family,
                         int protocol);
  // Clears O_NONBLOCK and sets SO_RCVTIMEO to io_timeout_.
  absl::Status MakeBlockingWithTimeouts();
  // One request and its response on the open connection. On failure
  // `*unanswered` tells whether the connection ended (or failed) before any
  // byte of the response arrived, which on a reused connection means the
  // server most likely closed it while it was idle.
  absl::StatusOr<HttpResponse> Exchange(absl::string_view body,
                                        bool* unanswered);
  // head_ for a POST of `body_bytes` to `path`; INVALID_ARGUMENT for a
  // path, content type or token that cannot go in a head.
  absl::Status BuildPostHead(absl::string_view path,
                             absl::string_view content_type,
                             size_t body_bytes);
  // Exchange() after the request was sent (sent_, answered_early_).
  absl::StatusOr<HttpResponse> Complete(bool* unanswered);
  // Sends head_ and `body`. Returns early, with `*answered_early` set, if
  // the server starts answering, or closes the connection, before it has
  // taken the whole request: the response (if any) is to be read then.
  // Without `may_wait`, fails (UNAVAILABLE) rather than wait for room in
  // the socket's buffer.
  absl::Status Send(absl::string_view body, bool* answered_early,
                    bool may_wait = true);
  // How a response's body is delimited.
  enum class Framing { kNone, kLength, kChunked, kUntilClose };
  struct Head {
    int status = 0;
    bool close = false;  // the connection cannot carry another request
    Framing framing = Framing::kNone;
    uint64_t length = 0;  // kLength
  };
  // Reads a response head, skipping interim (1xx) ones.
  absl::Status ReadHead(Head* head, std::string* content_type,
                        size_t* head_budget);
  absl::StatusOr<HttpResponse> ReadResponse(bool* keep_open);
  absl::Status ReadBodyWithLength(size_t length, std::string* body);
  absl::Status ReadChunkedBody(std::string* body, size_t* head_budget);
  // A chunked body's framing up to the next chunk's data: the CRLF ending
  // the previous chunk (if `after_chunk`), the size line, and after the
  // last chunk (*size 0) the trailers, counted against *trailer_budget.
  absl::Status ReadChunkHead(bool after_chunk, size_t* trailer_budget,
                             uint64_t* size);
  absl::Status ReadBodyUntilClose(std::string* body);
  // Finds the next line in the buffer, reading more as needed: on success
  // [*begin, *end) is the line without its CRLF (or bare LF) and is
  // consumed. Lines longer than `max_bytes` (terminator included) fail
  // with `what`.
  absl::Status ReadLine(size_t max_bytes, absl::string_view what,
                        const char** begin, const char** end,
                        size_t* line_bytes);

  // recv() into `dst`, waiting up to io_timeout_ when nothing is there.
  Recv Receive(char* dst, size_t size, size_t* got, absl::Status* error);
  // Appends what the socket has to the buffer (compacting it first).
  Recv Fill(absl::Status* error);
  // poll() for `events`; OK when ready, DEADLINE_EXCEEDED after `timeout`.
  absl::Status Wait(short events, absl::Duration timeout,
                    absl::string_view waiting_for, short* revents = nullptr);

  absl::Status Unavailable(absl::string_view what) const;
  absl::Status ErrnoError(absl::string_view what, int err) const;

  const std::string host_;         // for the Host header and messages
  const std::string lookup_host_;  // for getaddrinfo (no brackets)
  const std::string port_string_;
  const std::string authority_;      // the Host header's value
  const std::string authorization_;  // "Authorization: Bearer ...\r\n" or ""
  const bool token_ok_;              // no CR, LF or NUL in the token
  const absl::Duration connect_timeout_;
  const absl::Duration io_timeout_;
  const size_t max_body_bytes_;

  // Written only by the owning thread, under fd_mu_ (Interrupt() reads it
  // from others).
  int fd_ = -1;
  std::mutex fd_mu_;
  bool interrupted_ = false;  // guarded by fd_mu_
  absl::string_view method_ = "POST";  // of the request in progress
  // The body OpenStream() opened.
  struct StreamState {
    Framing framing = Framing::kNone;
    uint64_t left = 0;         // of the body (kLength) or the chunk
    bool after_chunk = false;  // a chunk's CRLF is still to be read
    bool done = false;         // the last chunk and trailers were read
  };
  StreamState stream_;
  uint64_t connects_ = 0;
  uint64_t resends_ = 0;
  absl::string_view path_;  // of the request in progress, for messages
  std::string head_;        // the request head, rebuilt in place
  // Received and not yet parsed: buf_[begin_, end_).
  std::unique_ptr<char[]> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t received_ = 0;  // bytes of the current response so far
  // How sending the request in progress went (Send()'s result).
  absl::Status sent_;
  bool answered_early_ = false;
};

}  // namespace sserpc::client_internal

#endif  // SSERPC_CLIENT_HTTP_CONNECTION_H_
