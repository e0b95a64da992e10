#include "client/client.h"

#include <algorithm>
#include <atomic>
#include <exception>

#include "absl/strings/str_cat.h"
#include "client/active_calls.h"
#include "client/event_stream.h"
#include "client/reply_sender.h"
#include "client/server_url.h"
#include "client/worker_pool.h"
#include "proto/binary_envelope.h"
#include "proto/clock.h"
#include "proto/envelope.h"
#include "proto/ids.h"
#include "proto/futex_hash.h"
#include "proto/json.h"
#include "proto/log.h"
#include "proto/sse.h"

namespace sserpc {
namespace {

Clock* ClockOf(const ClientOptions& o) {
  return o.clock != nullptr ? o.clock : Clock::Real();
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {}

Client::~Client() { Stop(absl::ZeroDuration()); }

absl::Status Client::Register(absl::string_view method, Handler handler,
                              HandlerOptions options) {
  absl::Status valid = ValidateMethodName(method);
  if (!valid.ok()) return valid;
  if (!handler) return absl::InvalidArgumentError("handler is empty");
  MutexLock lock(&mu_);
  if (started_) {
    return absl::FailedPreconditionError("Register() must precede Start()");
  }
  if (!handlers_
           .emplace(std::string(method), Registered{std::move(handler), options})
           .second) {
    return absl::AlreadyExistsError(
        absl::StrCat("a handler for ", method, " is registered already"));
  }
  return absl::OkStatus();
}

absl::Status Client::Start() {
  absl::Status valid = ValidateClientId(options_.client_id);
  if (!valid.ok()) return valid;
  absl::StatusOr<client_internal::ServerUrl> url =
      client_internal::ParseServerUrl(options_.server_url);
  if (!url.ok()) return url.status();
  {
    MutexLock lock(&mu_);
    if (started_) return absl::FailedPreconditionError("already started");
    if (options_.protobuf_payloads) {
      for (const auto& [method, registered] : handlers_) {
        if (!registered.options.accepts_protobuf) {
          return absl::InvalidArgumentError(absl::StrCat(
              "ClientOptions::protobuf_payloads needs every handler to accept "
              "protobuf (typed handlers do); the one for ", method,
              " takes JSON only"));
        }
      }
    }
    started_ = true;
  }
  // A process may hold thousands of clients, each a mostly blocked stream
  // thread: keep the kernel's futex hash in step (see futex_hash.h).
  static std::atomic<size_t> clients_started{0};
  ReserveFutexSlots(2 * clients_started.fetch_add(1) + 64);
  Clock* clock = ClockOf(options_);
  active_ = std::make_unique<client_internal::ActiveCalls>(
      options_.dedup_window, clock);
  active_->StartTimer();
  pool_ = std::make_unique<client_internal::WorkerPool>(
      options_.max_concurrent_calls, options_.max_queued_calls);
  sender_ = std::make_unique<client_internal::ReplySender>(options_, *url, clock);
  stream_ = std::make_unique<client_internal::EventStream>(
      options_, *url, [this](const SseEvent& e) { OnEvent(e); },
      [this] {
        MutexLock lock(&mu_);
        connected_ = false;
      },
      [this] { sender_->Flush(); });
  stream_->Start();
  return absl::OkStatus();
}

bool Client::WaitUntilConnected(absl::Duration timeout) {
  MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(
      Condition(
          +[](Client* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c->mu_) {
            return c->connected_;
          },
          this),
      timeout);
}

bool Client::connected() const {
  MutexLock lock(&mu_);
  return connected_;
}

absl::Status Client::status() const {
  absl::Status stream_status =
      stream_ != nullptr ? stream_->status() : absl::OkStatus();
  MutexLock lock(&mu_);
  return status_.ok() ? stream_status : status_;
}

Client::Stats Client::stats() const {
  Stats s;
  {
    MutexLock lock(&mu_);
    s = stats_;
  }
  if (sender_ != nullptr) {
    client_internal::ReplySender::Stats r = sender_->stats();
    s.answers_sent = r.delivered;
    s.answer_retries = r.retried;
    s.answer_posts = r.posts;
  }
  return s;
}

void Client::Stop(absl::Duration drain) {
  {
    MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  const absl::Time drain_until = ClockOf(options_)->Now() + drain;
  sender_->StopBy(drain_until);
  stream_->Stop();
  active_->CancelAll(absl::UnavailableError("client is stopping"));
  pool_->Shutdown();
  sender_->Stop(std::max(absl::ZeroDuration(),
                         drain_until - ClockOf(options_)->Now()));
  active_->StopTimer();
  MutexLock lock(&mu_);
  connected_ = false;
}

void Client::OnEvent(const SseEvent& event) {
  if (event.event == "request") {
    OnRequest(event.data, /*protobuf=*/false);
  } else if (event.event == "request-proto") {
    OnRequest(event.data, /*protobuf=*/true);
  } else if (event.event == "cancel") {
    absl::StatusOr<CancelEnvelope> c = ParseCancelData(event.data);
    if (!c.ok()) {
      SSERPC_LOG(kWarn, "ignoring malformed cancel event: ", c.status().message());
      return;
    }
    {
      MutexLock lock(&mu_);
      ++stats_.cancels;
    }
    active_->Cancel(c->call_id,
                    absl::Status(c->code, "call ended by the server"));
  } else if (event.event == "session") {
    absl::StatusOr<SessionEnvelope> s = ParseSessionData(event.data);
    if (!s.ok()) {
      SSERPC_LOG(kWarn, "malformed session event: ", s.status().message());
      return;
    }
    MutexLock lock(&mu_);
    connected_ = true;
    ++stats_.streams_opened;
  } else if (event.event == "close") {
    absl::Status why = ParseErrorBody(event.data, absl::StatusCode::kUnavailable);
    SSERPC_LOG(kInfo, "client ", options_.client_id,
               ": server ended the stream: ", why.ToString());
    if (why.code() == absl::StatusCode::kAborted) {
      // Another stream for this id took over; reconnecting would steal it back.
      stream_->GiveUp(why);
    }
  }
  // Other event types are ignored, so the protocol can grow.
}

void Client::OnRequest(absl::string_view data, bool protobuf) {
  absl::StatusOr<RequestEnvelope> parsed =
      protobuf ? ParseRequestDataProto(data) : ParseRequestData(data);
  if (!parsed.ok()) {
    SSERPC_LOG(kWarn, "ignoring malformed request event: ",
               parsed.status().message());
    return;
  }
  RequestEnvelope req = *std::move(parsed);
  Clock* clock = ClockOf(options_);
  const absl::Time deadline =
      clock->Now() + absl::Milliseconds(std::max<int64_t>(req.timeout_ms, 0));
  std::shared_ptr<Cancellation> cancellation =
      active_->Begin(req.call_id, deadline);
  {
    MutexLock lock(&mu_);
    ++(cancellation == nullptr ? stats_.duplicates : stats_.requests);
  }
  if (cancellation == nullptr) return;  // redelivered; already run or running

  auto handler = handlers_.find(req.method);
  if (handler == handlers_.end()) {
    active_->End(req.call_id);
    Answer(req.call_id,
           absl::UnimplementedError(absl::StrCat(
               "client ", options_.client_id, " has no handler for ",
               req.method)),
           req.protobuf, deadline, /*on_stream_thread=*/true);
    return;
  }
  const Registered* h = &handler->second;
  if (req.protobuf && !h->options.accepts_protobuf) {
    // Only a server that ignored the negotiation sends this.
    active_->End(req.call_id);
    Answer(req.call_id,
           absl::InvalidArgumentError(absl::StrCat(
               "the handler of client ", options_.client_id, " for ",
               req.method, " takes JSON payloads only")),
           req.protobuf, deadline, /*on_stream_thread=*/true);
    return;
  }
  if (h->options.run_on_stream_thread) {
    RunCall(h->handler, std::move(req), deadline, std::move(cancellation),
            /*on_stream_thread=*/true);
    return;
  }
  std::string call_id = req.call_id;
  bool queued = pool_->Submit([this, h, req = std::move(req), deadline,
                               cancellation]() mutable {
    RunCall(h->handler, std::move(req), deadline, std::move(cancellation),
            /*on_stream_thread=*/false);
  });
  if (!queued) {
    active_->End(call_id);
    Answer(call_id,
           absl::ResourceExhaustedError(absl::StrCat(
               "client ", options_.client_id, " is running too many calls")),
           protobuf, deadline, /*on_stream_thread=*/true);
  }
}

void Client::RunCall(const Handler& handler, RequestEnvelope req,
                     absl::Time deadline,
                     std::shared_ptr<Cancellation> cancellation,
                     bool on_stream_thread) {
  absl::StatusOr<std::string> result;
  if (cancellation->IsCancelled()) {
    result = cancellation->status();
  } else {
    CallContext ctx(req.call_id, req.method, options_.client_id, deadline,
                    cancellation.get(), req.protobuf);
    try {
      result = handler(ctx, req.payload);
    } catch (const std::exception& e) {
      result = absl::InternalError(
          absl::StrCat("handler threw an exception: ", e.what()));
    } catch (...) {
      result = absl::InternalError("handler threw an exception");
    }
  }
  active_->End(req.call_id);
  bool stopping;
  {
    MutexLock lock(&mu_);
    stopping = stopping_;
  }
  if (cancellation->IsCancelled()) {
    // Cancelled by the server or the deadline: nobody waits for an answer.
    // Interrupted by Stop(): an answer is sent, unless the handler just gave
    // back the interruption itself; then the call stays pending on the
    // server and is redelivered when this client id comes back within the
    // grace period.
    if (!stopping) return;
    if (!result.ok() && result.status() == cancellation->status()) return;
  }
  Answer(std::move(req.call_id), std::move(result), req.protobuf, deadline,
         on_stream_thread);
}

void Client::Answer(std::string call_id, absl::StatusOr<std::string> result,
                    bool protobuf, absl::Time deadline, bool on_stream_thread) {
  ReplyEnvelope reply;
  reply.call_id = std::move(call_id);
  reply.protobuf = protobuf;
  if (result.ok()) {
    reply.payload = *std::move(result);
    if (!protobuf && reply.payload.empty()) reply.payload = "{}";
    // Protobuf bytes are not checked here: any bytes may be a message, and
    // the typed caller parses them.
    absl::Status valid =
        protobuf ? absl::OkStatus() : json::Validate(reply.payload);
    if (!valid.ok()) {
      reply.payload.clear();
      reply.error = absl::InternalError(absl::StrCat(
          "handler returned invalid JSON: ", valid.message()));
    } else if (reply.payload.size() > options_.max_message_bytes) {
      reply.payload.clear();
      reply.error = absl::ResourceExhaustedError(
          absl::StrCat("answer exceeds ", options_.max_message_bytes, " bytes"));
    }
  } else {
    reply.error = result.status();
  }
  sender_->Send(std::move(reply), deadline, /*wake=*/!on_stream_thread);
}

}  // namespace sserpc
