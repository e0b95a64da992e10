#include "client/event_stream.h"

#include <httplib.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/http_connection.h"
#include "proto/envelope.h"
#include "proto/log.h"
#include "proto/status_codes.h"
#include "proto/thread_name.h"

namespace sserpc::client_internal {
namespace {

constexpr absl::Duration kMinReconnectDelay = absl::Milliseconds(10);

// The stream's socket only receives: Linux then acknowledges every read
// that empties its buffer with a segment of its own ("quick ACK" mode, for
// connections that are not request/response), one more TCP segment for the
// server to process per event or two. TCP_QUICKACK 0 asks for delayed
// acknowledgements (every other full segment, or the delayed-ACK timer),
// which a busy stream needs far fewer of. The kernel falls back to quick
// ACKs whenever the delayed-ACK timer fires (a quiet moment), so a busy
// stream asks again every kDelayAcksEvery.
constexpr absl::Duration kDelayAcksEvery = absl::Milliseconds(100);

// Asks for delayed ACKs on `fd` when the stream opens and again, as events
// arrive, at most every kDelayAcksEvery.
class AckDelayer {
 public:
  void Start(int fd) {
    fd_ = fd;
    HttpConnection::DelayAcks(fd_);
    asked_at_ = absl::Now();
  }
  void OnEvents() {
    if (fd_ < 0) return;
    const absl::Time now = absl::Now();
    if (now - asked_at_ < kDelayAcksEvery) return;
    HttpConnection::DelayAcks(fd_);
    asked_at_ = now;
  }

 private:
  int fd_ = -1;
  absl::Time asked_at_;
};

}  // namespace

EventStream::EventStream(const ClientOptions& options, ServerUrl url,
                         OnEvent on_event, OnDisconnect on_disconnect,
                         OnChunkEnd on_chunk_end)
    : options_(options),
      url_(std::move(url)),
      path_(absl::StrCat(url_.path_prefix, "/sserpc/v1/clients/",
                         options.client_id, "/events",
                         options.protobuf_payloads ? "?payloads=protobuf" : "")),
      on_event_(std::move(on_event)),
      on_disconnect_(std::move(on_disconnect)),
      on_chunk_end_(std::move(on_chunk_end)),
      parser_(SseParser::Callbacks{
                  [this](const SseEvent& e) { on_event_(e); },
                  [this](int64_t ms) { retry_hint_ = absl::Milliseconds(ms); }},
              options.max_message_bytes + 4096),
      retry_hint_(options.reconnect_initial) {}

EventStream::~EventStream() { Stop(); }

void EventStream::Start() {
  thread_ = std::thread([this] {
    NameThisThread("sserpc-stream");
    Loop();
    exited_.Notify();
  });
}

void EventStream::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  if (!thread_.joinable()) return;
  // httplib's stop() does nothing while the request has no socket yet, so
  // keep asking until the stream thread has left.
  while (true) {
    {
      MutexLock lock(&mu_);
      if (current_https_ != nullptr) current_https_->stop();
      if (current_http_ != nullptr) current_http_->Interrupt();
    }
    if (exited_.WaitForNotificationWithTimeout(absl::Milliseconds(20))) break;
  }
  thread_.join();
}

void EventStream::GiveUp(absl::Status why) {
  MutexLock lock(&mu_);
  if (status_.ok()) status_ = std::move(why);
}

absl::Status EventStream::status() const {
  MutexLock lock(&mu_);
  return status_;
}

uint64_t EventStream::connects() const {
  MutexLock lock(&mu_);
  return connects_;
}

absl::Duration EventStream::Backoff(absl::Duration base, absl::Duration max,
                                    int attempt, absl::BitGen& gen) {
  absl::Duration d = base;
  for (int i = 0; i < attempt && d < max; ++i) d *= 2;
  d = std::min(d, max);
  // Jitter spreads a crowd of clients that lost the server at once.
  return d / 2 + d / 2 * absl::Uniform(gen, 0.0, 1.0);
}

bool EventStream::OnBytes(absl::string_view data, Attempt* attempt) {
  attempt->got_data = true;
  attempt->parse_error = parser_.Feed(data);
  on_chunk_end_();
  if (!attempt->parse_error.ok()) return false;
  MutexLock lock(&mu_);
  return !stopping_ && status_.ok();
}

void EventStream::ReadOverHttp(const std::string& last_event_id,
                               Attempt* attempt) {
  std::string headers =
      "Accept: text/event-stream\r\nCache-Control: no-cache\r\n";
  if (!last_event_id.empty()) {
    absl::StrAppend(&headers, "Last-Event-ID: ", last_event_id, "\r\n");
  }
  absl::StatusOr<HttpHostPort> target =
      ParseHttpHostPort(url_.scheme_host_port);
  if (!target.ok()) {
    attempt->failure = std::string(target.status().message());
    return;
  }
  HttpConnection http(std::move(target->host), target->port, options_.token,
                      options_.connect_timeout, options_.stream_read_timeout,
                      options_.max_message_bytes);
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    current_http_ = &http;
  }
  absl::StatusOr<int> status = http.OpenStream(path_, headers);
  if (!status.ok()) {
    attempt->failure = std::string(status.status().message());
  } else if ((attempt->status = *status) == 200) {
    AckDelayer acks;
    acks.Start(http.fd());
    absl::string_view data;
    absl::Status error;
    HttpConnection::StreamRead read;
    while ((read = http.ReadStream(&data, &error)) ==
           HttpConnection::StreamRead::kData) {
      acks.OnEvents();
      if (!OnBytes(data, attempt)) break;
    }
    if (read == HttpConnection::StreamRead::kError) {
      attempt->failure = std::string(error.message());
    }
  }
  MutexLock lock(&mu_);
  current_http_ = nullptr;
}

void EventStream::ReadOverHttps(const std::string& last_event_id,
                                Attempt* attempt) {
  httplib::Headers headers = {{"Accept", "text/event-stream"},
                              {"Cache-Control", "no-cache"}};
  if (!last_event_id.empty()) headers.emplace("Last-Event-ID", last_event_id);
  auto sec = [](absl::Duration d) { return absl::ToInt64Seconds(d); };
  auto usec = [](absl::Duration d) {
    return absl::ToInt64Microseconds(d) % 1000000;
  };
  httplib::Client http(url_.scheme_host_port);
  http.set_tcp_nodelay(true);
  AckDelayer acks;
  http.set_socket_options([&](int fd) { acks.Start(fd); });
  http.set_connection_timeout(sec(options_.connect_timeout),
                              usec(options_.connect_timeout));
  http.set_read_timeout(sec(options_.stream_read_timeout),
                        usec(options_.stream_read_timeout));
  if (!options_.token.empty()) http.set_bearer_token_auth(options_.token);
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    current_https_ = &http;
  }
  httplib::Result res = http.Get(
      path_, headers,
      [&](const httplib::Response& r) {
        attempt->status = r.status;
        return r.status == 200;
      },
      [&](const char* data, size_t len) {
        acks.OnEvents();
        return OnBytes(absl::string_view(data, len), attempt);
      });
  if (!res) attempt->failure = httplib::to_string(res.error());
  MutexLock lock(&mu_);
  current_https_ = nullptr;
}

void EventStream::Loop() {
  absl::BitGen gen;
  int attempt_number = 0;
  const bool https = absl::StartsWith(url_.scheme_host_port, "https://");
  while (true) {
    {
      MutexLock lock(&mu_);
      if (stopping_ || !status_.ok()) break;
      ++connects_;
    }
    const std::string last_id = parser_.last_event_id();
    parser_.Reset();
    Attempt attempt;
    if (https) {
      ReadOverHttps(last_id, &attempt);
    } else {
      ReadOverHttp(last_id, &attempt);
    }
    {
      MutexLock lock(&mu_);
      if (stopping_) break;
    }
    on_disconnect_();
    const int status = attempt.status;
    if (status == 400 || status == 401 || status == 403) {
      GiveUp(absl::Status(CodeForHttpStatus(status),
                          absl::StrCat("server refused the stream with HTTP ",
                                       status)));
      SSERPC_LOG(kError, "client ", options_.client_id,
                 ": server refused the stream with HTTP ", status,
                 "; not reconnecting");
      break;
    }
    if (!attempt.parse_error.ok()) {
      SSERPC_LOG(kWarn, "client ", options_.client_id, ": ",
                 attempt.parse_error.message(), "; reconnecting");
    } else if (!attempt.failure.empty() && !attempt.got_data) {
      SSERPC_LOG(kInfo, "client ", options_.client_id, ": stream failed (",
                 attempt.failure, ")");
    }
    // A stream that delivered data was a success: start the backoff over.
    if (attempt.got_data) attempt_number = 0;
    // A `retry: 0` hint must not turn into a tight reconnect loop.
    absl::Duration delay =
        Backoff(std::max(retry_hint_, kMinReconnectDelay),
                options_.reconnect_max, attempt_number, gen);
    ++attempt_number;
    MutexLock lock(&mu_);
    absl::Time until = absl::Now() + delay;
    while (!stopping_ && !wake_.WaitWithDeadline(&mu_, until)) {
    }
    if (stopping_ || !status_.ok()) break;
  }
}

}  // namespace sserpc::client_internal
