#include "server/http_service.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "proto/binary_envelope.h"
#include "proto/envelope.h"
#include "proto/ids.h"
#include "proto/json.h"
#include "proto/log.h"
#include "proto/sse.h"
#include "proto/status_codes.h"
#include "server/connection_threads.h"
#include "server/sse_socket.h"
#include "proto/thread_name.h"

namespace sserpc::server_internal {
namespace {

constexpr char kJson[] = "application/json";
constexpr size_t kMaxPathBytes = 512;
// How long Stop() lets stream writers write `event: close` before it shuts
// their sockets down.
constexpr absl::Duration kCloseEventGrace = absl::Milliseconds(500);

void SetError(httplib::Response& res, const absl::Status& status,
              int http_status = 0) {
  res.status = http_status != 0 ? http_status : HttpStatusForCode(status.code());
  res.set_content(ErrorBody(status), kJson);
}

// Constant-time comparison: a token's bytes must not leak through timing.
bool TokenEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

// `h` is the Authorization header's value.
bool HasBearer(absl::string_view h, absl::string_view token) {
  // The auth scheme is case-insensitive (RFC 7235).
  if (h.size() < 7 || !absl::EqualsIgnoreCase(h.substr(0, 7), "bearer ")) {
    return false;
  }
  return TokenEquals(h.substr(7), token);
}

// Only literal loopback addresses (and "localhost") count: a host name that
// merely starts with "127." could resolve anywhere.
bool IsLoopback(absl::string_view host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr v4;
  return inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1 &&
         (ntohl(v4.s_addr) >> 24) == 127;
}

// Parses `timeout_ms` or `wait_for_client` style query parameters.
absl::Status ParseCallQuery(const httplib::Request& req,
                            const ServerOptions& options, CallOptions* out) {
  out->timeout = options.default_timeout;
  if (req.has_param("timeout_ms")) {
    int64_t ms;
    std::string v = req.get_param_value("timeout_ms");
    if (!absl::SimpleAtoi(v, &ms) || ms <= 0) {
      return absl::InvalidArgumentError(
          "timeout_ms must be a positive integer (milliseconds)");
    }
    out->timeout = absl::Milliseconds(ms);
  }
  if (req.has_param("wait_for_client")) {
    std::string v = absl::AsciiStrToLower(req.get_param_value("wait_for_client"));
    if (v == "true" || v == "1") {
      out->wait_for_client = true;
    } else if (v == "false" || v == "0") {
      out->wait_for_client = false;
    } else {
      return absl::InvalidArgumentError("wait_for_client must be true or false");
    }
  }
  return absl::OkStatus();
}

}  // namespace

HttpService::HttpService(const ServerOptions& options, Dispatcher* dispatcher)
    : options_(options), dispatcher_(dispatcher), http_(options) {
  Route();
  http_.set_replies_endpoint(this);
}

HttpService::~HttpService() { Stop(); }

void HttpService::Route() {
  http_.set_tcp_nodelay(true);
  http_.set_keep_alive_max_count(SIZE_MAX / 2);
  http_.set_keep_alive_timeout(
      std::max<time_t>(1, absl::ToInt64Seconds(options_.keep_alive_timeout)));
  auto usec = [](absl::Duration d) {
    return absl::ToInt64Microseconds(d) % 1000000;
  };
  http_.set_read_timeout(absl::ToInt64Seconds(options_.read_timeout),
                         usec(options_.read_timeout));
  http_.set_write_timeout(absl::ToInt64Seconds(options_.write_timeout),
                          usec(options_.write_timeout));
  http_.set_payload_max_length(options_.max_body_bytes);
  http_.set_socket_options([this](int fd) {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    // A peer that vanishes without FIN or RST (ServerOptions::
    // dead_peer_timeout). Set on the listening socket: Linux copies these
    // options to every socket it accepts (tests/integration/netcut_test.cc
    // checks that). Sent data unacknowledged for dead_peer_timeout aborts
    // the connection (a stream's heartbeat is such data); an idle
    // connection is probed by keepalive from half of it on, every second
    // (at most 127 probes), and aborted once dead_peer_timeout has passed
    // since the peer last answered (TCP_USER_TIMEOUT also bounds keepalive).
    const int64_t total_s = absl::ToInt64Seconds(
        absl::Ceil(options_.dead_peer_timeout, absl::Seconds(1)));
    const int idle_s = static_cast<int>(total_s / 2);            // >= 1
    const int rest_s = static_cast<int>(total_s - idle_s);       // >= 1
    const int interval_s = (rest_s + 126) / 127;                 // >= 1
    const int count = rest_s / interval_s;                       // 1..127
    const unsigned int user_timeout_ms = static_cast<unsigned int>(
        absl::ToInt64Milliseconds(options_.dead_peer_timeout));
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof(idle_s)) !=
            0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval_s,
                   sizeof(interval_s)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms,
                   sizeof(user_timeout_ms)) != 0) {
      SSERPC_LOG(kWarn, "cannot set dead-peer detection on the listening "
                 "socket (errno ", errno, "): a vanished client may go "
                 "unnoticed for minutes");
    }
    listen_fd_ = fd;
  });
  // Errors produced by httplib itself (404 for unknown paths, 413, 400 for
  // unparsable requests) get the same JSON body as ours.
  http_.set_error_handler([this](const httplib::Request&,
                                  httplib::Response& res) {
    // A connection GuardedServer cut has its response already; httplib's
    // is not written.
    if (GuardedServer::CurrentConnectionCut()) return;
    if (!res.body.empty()) return;  // ours, already counted
    res.set_content(HttplibError(res.status).body, kJson);
  });

  // Routes are matched with std::regex, which recurses once per character of
  // the path: a hostile long path would overflow a connection thread's
  // stack. No valid path is longer than ~420 bytes, so longer ones are
  // refused before routing. HEAD would reach the GET handlers (and take a
  // client's stream over), so it is refused too.
  http_.set_pre_routing_handler([this](const httplib::Request& req,
                                       httplib::Response& res) {
    if (req.path.size() > kMaxPathBytes) {
      http_.CountUriTooLong();
      SetError(res, absl::InvalidArgumentError("request path too long"), 414);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method == "HEAD") {
      SetError(res, absl::InvalidArgumentError("HEAD is not supported"), 405);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http_.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"status\":\"SERVING\"}", kJson);
  });
  http_.Get("/sserpc/v1/clients",
            [this](const httplib::Request& req, httplib::Response& res) {
              HandleClients(req, res);
            });
  http_.Get("/sserpc/v1/stats",
            [this](const httplib::Request& req, httplib::Response& res) {
              HandleStats(req, res);
            });
  http_.Get(R"(/sserpc/v1/clients/([^/]*)/events)",
            [this](const httplib::Request& req, httplib::Response& res) {
              HandleEvents(req, res);
            });
  http_.Post(R"(/sserpc/v1/clients/([^/]*)/replies)",
             [this](const httplib::Request& req, httplib::Response& res) {
               HandleReplies(req, res);
             });
  http_.Post(R"(/sserpc/v1/clients/([^/]*)/calls/([\s\S]*))",
             [this](const httplib::Request& req, httplib::Response& res) {
               HandleCall(req, res);
             });
}

absl::Status HttpService::CheckClient(absl::string_view client_id,
                                      absl::string_view authorization) const {
  // The id is checked first: nothing is done for a malformed one.
  if (absl::Status valid = ValidateClientId(client_id); !valid.ok()) {
    return valid;
  }
  if (options_.client_tokens.empty()) return absl::OkStatus();
  auto it = options_.client_tokens.find(std::string(client_id));
  if (it != options_.client_tokens.end() &&
      HasBearer(authorization, it->second)) {
    return absl::OkStatus();
  }
  return absl::UnauthenticatedError(
      "missing or wrong bearer token for this client");
}

bool HttpService::AuthorizeClient(const httplib::Request& req,
                                  absl::string_view client_id,
                                  httplib::Response& res) const {
  absl::Status s = CheckClient(client_id, req.get_header_value("Authorization"));
  if (s.ok()) return true;
  if (s.code() == absl::StatusCode::kUnauthenticated) {
    res.set_header("WWW-Authenticate", "Bearer");
  }
  SetError(res, s);
  return false;
}

absl::Status HttpService::CheckBodySize(size_t size) {
  if (size <= options_.max_body_bytes) return absl::OkStatus();
  http_.CountBodyTooLarge();
  return absl::ResourceExhaustedError("request body exceeds the size limit");
}

bool HttpService::BodyWithinLimit(const httplib::Request& req,
                                  httplib::Response& res) {
  absl::Status s = CheckBodySize(req.body.size());
  if (s.ok()) return true;
  SetError(res, s, 413);
  return false;
}

bool HttpService::AuthorizeAdmin(const httplib::Request& req,
                                 httplib::Response& res) const {
  if (options_.admin_token.empty() ||
      HasBearer(req.get_header_value("Authorization"), options_.admin_token)) {
    return true;
  }
  res.set_header("WWW-Authenticate", "Bearer");
  SetError(res, absl::UnauthenticatedError("missing or wrong admin token"));
  return false;
}

void HttpService::HandleEvents(const httplib::Request& req,
                               httplib::Response& res) {
  const std::string client_id = req.matches[1];
  if (!AuthorizeClient(req, client_id, res)) return;
  std::optional<uint64_t> last_event_id;
  if (req.has_header("Last-Event-ID")) {
    std::string v = req.get_header_value("Last-Event-ID");
    uint64_t n;
    bool digits = !v.empty() && v.size() <= 18;  // < 10^18: no overflow
    for (char c : v) digits = digits && absl::ascii_isdigit(c);
    if (!digits || !absl::SimpleAtoi(v, &n)) {
      return SetError(res, absl::InvalidArgumentError(
                               "Last-Event-ID must be a decimal event id"));
    }
    last_event_id = n;
  }
  // `?payloads=protobuf,json`: the client's preference, best first; the
  // first form this server supports wins, and names it does not know are
  // skipped (so a newer client can offer forms older servers lack).
  bool protobuf_payloads = false;
  for (absl::string_view form :
       absl::StrSplit(req.get_param_value("payloads"), ',')) {
    if (form == "protobuf") protobuf_payloads = true;
    if (form == "protobuf" || form == "json") break;
  }
  absl::StatusOr<std::shared_ptr<StreamState>> stream =
      dispatcher_->OpenStream(client_id, last_event_id, protobuf_payloads);
  if (!stream.ok()) return SetError(res, stream.status());

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  const absl::Duration heartbeat = options_.heartbeat;
  const absl::Duration check = std::min(options_.liveness_check, heartbeat);
  std::shared_ptr<StreamState> s = *std::move(stream);
  // Everything after the response head goes through `socket`: from the
  // writer below, or from threads that queue requests while it is parked
  // (Dispatcher::SetDirectSender).
  const int fd = GuardedServer::CurrentConnectionFd();
  auto socket = fd >= 0 ? std::make_shared<SseSocket>(fd, options_.write_timeout)
                        : nullptr;
  // Exactly "text/event-stream": with parameters, httplib would compress the
  // stream for gzip-accepting clients and never flush it.
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, s, socket, heartbeat, check](size_t, httplib::DataSink& sink) {
        NameThisThread("sserpc-sse");  // this connection now only streams
        // Each write is one chunk, as sink.write() would frame it.
        auto send = [&](const std::string& events) {
          return socket != nullptr ? socket->Send(events)
                                   : sink.write(events.data(), events.size());
        };
        if (socket != nullptr) dispatcher_->SetDirectSender(*s, socket.get());
        std::string buf;
        absl::Time last_write = absl::Now();
        while (true) {
          buf.clear();
          // Until the next heartbeat; while calls wait for this client, at
          // most `check`, to notice a closed peer soon.
          const absl::Duration to_heartbeat = std::max(
              absl::ZeroDuration(), heartbeat - (absl::Now() - last_write));
          Dispatcher::WriteStatus st = dispatcher_->NextWrite(
              *s, to_heartbeat, std::min(check, to_heartbeat), &buf);
          if (st == Dispatcher::WriteStatus::kIdle) {
            if (absl::Now() - last_write >= heartbeat) {
              AppendSseComment("", &buf);
            } else if (!sink.is_writable()) {
              // The peer closed the connection. httplib notices a closed
              // peer only when writing or when asked, so an idle stream asks.
              return false;
            }
          }
          // kData may come with no bytes: the socket then sends what a
          // direct write left (or reports that write's failure).
          if (!buf.empty() || st == Dispatcher::WriteStatus::kData) {
            if (!send(buf)) return false;
            if (!buf.empty()) last_write = absl::Now();
          }
          if (st == Dispatcher::WriteStatus::kClosed) {
            sink.done();
            return true;
          }
        }
      },
      [this, s, socket](bool /*success*/) {
        dispatcher_->StreamEnded(*s);
        MutexLock lock(&streams_mu_);
        --active_streams_;
      });
  MutexLock lock(&streams_mu_);
  ++active_streams_;
}

void HttpService::HandleReplies(const httplib::Request& req,
                                httplib::Response& res) {
  RepliesAnswer answer = AnswerReplies(
      req.matches[1].str(), req.get_header_value("Authorization"),
      req.get_header_value("Content-Type"), req.body);
  res.status = answer.status;
  if (answer.www_authenticate) res.set_header("WWW-Authenticate", "Bearer");
  if (!answer.content_type.empty()) {
    res.set_content(std::move(answer.body), std::string(answer.content_type));
  }
}

void HttpService::ServeInWriteBatch(absl::FunctionRef<void()> serve) {
  Dispatcher::WakeScope batch(dispatcher_);
  serve();
}

RepliesAnswer HttpService::AnswerReplies(absl::string_view client_id,
                                         absl::string_view authorization,
                                         absl::string_view content_type,
                                         absl::string_view body) {
  RepliesAnswer answer;
  auto error = [&answer](const absl::Status& s, int http_status = 0) {
    answer.status = http_status != 0 ? http_status : HttpStatusForCode(s.code());
    answer.content_type = kJson;
    answer.body = ErrorBody(s);
    return answer;
  };
  if (absl::Status s = CheckClient(client_id, authorization); !s.ok()) {
    answer.www_authenticate = s.code() == absl::StatusCode::kUnauthenticated;
    return error(s);
  }
  // A chunked body is bounded on the wire by GuardedServer only roughly
  // (framing included): its size is checked exactly here.
  if (absl::Status s = CheckBodySize(body.size()); !s.ok()) {
    return error(s, 413);
  }
  std::vector<ReplyEnvelope> replies;
  const bool protobuf = IsProtobufContentType(content_type);
  bool is_batch = true;  // a binary body always is
  absl::Status parsed = protobuf ? ParseRepliesProto(body, &replies)
                                 : ParseReplies(body, &replies, &is_batch);
  if (!parsed.ok()) return error(parsed);
  if (!is_batch) {
    absl::Status s = dispatcher_->DeliverReply(client_id, std::move(replies[0]));
    if (!s.ok()) return error(s);
    return answer;  // 204
  }
  // The replies keep their call ids for the results below.
  const std::vector<absl::Status> statuses =
      dispatcher_->DeliverReplies(client_id, &replies);
  if (protobuf) {
    if (std::all_of(statuses.begin(), statuses.end(),
                    [](const absl::Status& s) { return s.ok(); })) {
      return answer;  // 204: the common case costs no results body
    }
    answer.status = 200;
    answer.content_type = kProtobufContentType;
    for (size_t i = 0; i < statuses.size(); ++i) {
      const absl::Status& s = statuses[i];
      AppendReplyResultProto(replies[i].call_id,
                             s.ok() ? 200 : HttpStatusForCode(s.code()), s,
                             &answer.body);
    }
    return answer;
  }
  answer.status = 200;
  answer.content_type = kJson;
  std::string& out = answer.body;
  // {"call_id":"<id>","status":200}: one allocation for the usual results.
  size_t size = 2;
  for (const ReplyEnvelope& r : replies) size += r.call_id.size() + 32;
  out.reserve(size);
  out = "[";
  for (size_t i = 0; i < statuses.size(); ++i) {
    const absl::Status& s = statuses[i];
    if (i > 0) out.push_back(',');
    out.append("{\"call_id\":");
    json::AppendQuoted(replies[i].call_id, &out);
    absl::StrAppend(&out, ",\"status\":", s.ok() ? 200 : HttpStatusForCode(s.code()));
    if (!s.ok()) {
      absl::StrAppend(&out, ",\"code\":\"", StatusCodeName(s.code()),
                      "\",\"message\":");
      json::AppendQuoted(s.message(), &out);
    }
    out.push_back('}');
  }
  out.push_back(']');
  return answer;
}

RepliesAnswer HttpService::HttplibError(int status) {
  if (status == 413) http_.CountBodyTooLarge();
  std::string message;
  switch (status) {
    case 400:
      message = "malformed HTTP request (a POST needs Content-Length or "
                "chunked transfer encoding)";
      break;
    case 404: message = "no such endpoint"; break;
    case 413: message = "request body exceeds the size limit"; break;
    default: message = absl::StrCat("HTTP ", status);
  }
  RepliesAnswer answer;
  answer.status = status;
  answer.content_type = kJson;
  answer.body = ErrorBody(absl::Status(CodeForHttpStatus(status), message));
  return answer;
}

void HttpService::HandleCall(const httplib::Request& req,
                             httplib::Response& res) {
  if (!AuthorizeAdmin(req, res)) return;
  if (!BodyWithinLimit(req, res)) return;
  const std::string client_id = req.matches[1];
  const std::string method = req.matches[2];
  absl::Status valid = ValidateClientId(client_id);
  if (valid.ok()) valid = ValidateMethodName(method);
  CallOptions call_options;
  if (valid.ok()) valid = ParseCallQuery(req, options_, &call_options);
  if (!valid.ok()) return SetError(res, valid);
  Notification done;
  CallResult result;
  const std::string call_id = dispatcher_->StartCall(
      client_id, method, req.body, call_options, [&](CallResult r) {
        result = std::move(r);
        done.Notify();
      });
  // A caller that hangs up gives the call up: it ends CANCELLED and the
  // client is told, instead of working on for nobody. Checked as often as
  // stream writers check their connections.
  while (!done.WaitForNotificationWithTimeout(options_.liveness_check)) {
    if (!GuardedServer::CurrentPeerStillThere()) {
      dispatcher_->Cancel(call_id,
                          absl::CancelledError("the HTTP caller disconnected"));
    }
  }
  if (!result.ok()) return SetError(res, result.status());
  res.set_content(*std::move(result), kJson);
}

void HttpService::HandleClients(const httplib::Request& req,
                                httplib::Response& res) {
  if (!AuthorizeAdmin(req, res)) return;
  std::string body = "{\"clients\":[";
  bool first = true;
  for (const ClientInfo& c : dispatcher_->ListClients()) {
    if (!first) body.push_back(',');
    first = false;
    body.append("{\"client_id\":");
    json::AppendQuoted(c.client_id, &body);
    absl::StrAppend(&body, ",\"state\":\"", c.state, "\",\"pending\":",
                    c.pending, ",\"calls_sent\":", c.calls_sent,
                    ",\"calls_answered\":", c.calls_answered,
                    ",\"calls_failed\":", c.calls_failed,
                    ",\"streams_opened\":", c.streams_opened, "}");
  }
  body.append("]}");
  res.set_content(body, kJson);
}

void HttpService::HandleStats(const httplib::Request& req,
                              httplib::Response& res) {
  if (!AuthorizeAdmin(req, res)) return;
  ServerStats s = dispatcher_->Stats();
  http_.AddStats(&s);
  res.set_content(
      absl::StrCat(
          "{\"calls_started\":", s.calls_started,
          ",\"calls_answered\":", s.calls_answered,
          ",\"calls_failed\":", s.calls_failed,
          ",\"pending_calls\":", s.pending_calls,
          ",\"open_streams\":", s.open_streams,
          ",\"streams_opened\":", s.streams_opened,
          ",\"refused_pending_per_client\":", s.refused_pending_per_client,
          ",\"refused_pending_total\":", s.refused_pending_total,
          ",\"refused_outbox_full\":", s.refused_outbox_full,
          ",\"refused_payload_too_large\":", s.refused_payload_too_large,
          ",\"refused_max_clients\":", s.refused_max_clients,
          ",\"clients_cut_off\":", s.clients_cut_off,
          ",\"open_connections\":", s.open_connections,
          ",\"connections_accepted\":", s.connections_accepted,
          ",\"refused_max_connections\":", s.refused_max_connections,
          ",\"refused_connections_per_peer\":",
          s.refused_connections_per_peer,
          ",\"refused_connection_rate\":", s.refused_connection_rate,
          ",\"refused_request_head_timeout\":",
          s.refused_request_head_timeout,
          ",\"refused_request_head_too_large\":",
          s.refused_request_head_too_large,
          ",\"refused_uri_too_long\":", s.refused_uri_too_long,
          ",\"refused_body_too_large\":", s.refused_body_too_large, "}"),
      kJson);
}

absl::StatusOr<int> HttpService::Start(absl::string_view host, int port) {
  if (started_) return absl::FailedPreconditionError("already started");
  if (!IsLoopback(host) && !options_.allow_insecure_non_loopback &&
      (options_.client_tokens.empty() || options_.admin_token.empty())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on ", host,
        " without client tokens and an admin token; configure both, or allow "
        "insecure non-loopback listening explicitly"));
  }
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int bound = port == 0 ? http_.bind_to_any_port(h) : (http_.bind_to_port(h, port) ? port : -1);
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", host, ":", port));
  }
  // httplib listens with a backlog of 5, which drops connection bursts.
  if (listen_fd_ >= 0) ::listen(listen_fd_, options_.listen_backlog);
  http_.PrepareLimits();
  started_ = true;
  port_ = bound;
  listen_thread_ = std::thread([this] {
    NameThisThread("sserpc-accept");
    http_.listen_after_bind();
  });
  // httplib's stop() does nothing before the accept loop runs, so a Stop()
  // right after Start() would hang: wait for it.
  while (!http_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  return bound;
}

void HttpService::Stop() {
  if (!started_) return;
  started_ = false;
  dispatcher_->Shutdown();  // ends stream writers
  http_.stop();
  {
    // Writers are already woken and write at most `event: close`, which
    // takes a healthy stream microseconds. A writer blocked on a client that
    // does not read would wait out its write timeout: it is given a short
    // while only, then its socket is shut down below, which ends the write.
    MutexLock lock(&streams_mu_);
    streams_mu_.AwaitWithTimeout(
        Condition(
            +[](int* n) { return *n == 0; }, &active_streams_),
        std::min(options_.write_timeout, kCloseEventGrace));
  }
  // The accept loop has ended (or ends now): no connection is admitted any
  // more, so every open one is known. Shutting them down wakes idle
  // keep-alive connections, which would otherwise wait out their timeout.
  if (listen_thread_.joinable()) listen_thread_.join();
  http_.CloseConnections();
}

}  // namespace sserpc::server_internal
