#include "server/dispatcher.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/binary_envelope.h"
#include "proto/futex_hash.h"
#include "proto/ids.h"
#include "proto/json.h"
#include "proto/sse.h"
#include "proto/sync.h"

namespace sserpc::server_internal {
namespace {

// Length of the base64 (padded) form of `n` bytes.
size_t Base64Size(size_t n) { return (n + 2) / 3 * 4; }

int64_t RemainingMs(absl::Time deadline, absl::Time now) {
  // Rounded up so a call with time left is never sent with 0.
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(deadline - now,
                                                    absl::Milliseconds(1)));
  return std::max<int64_t>(ms, 1);
}

// Frees a reused (thread_local) buffer a large event made grow, so that
// one 4 MB request does not stay allocated in every thread that wrote it.
void ReleaseIfLarge(std::string& buffer) {
  if (buffer.capacity() > (64 << 10)) std::string().swap(buffer);
}

const char* StateName(SessionState s) {
  switch (s) {
    case SessionState::kConnected: return "connected";
    case SessionState::kGrace: return "resuming";
    case SessionState::kAbsent: return "absent";
  }
  return "absent";
}

}  // namespace

Dispatcher::Dispatcher(const ServerOptions& options, Clock* clock)
    : options_(options), clock_(clock) {}

Dispatcher::~Dispatcher() { Shutdown(); }

thread_local Dispatcher::WakeScope* Dispatcher::tls_scope = nullptr;

Dispatcher::WakeScope::WakeScope(Dispatcher* d)
    : dispatcher_(d),
      outer_(tls_scope),
      outermost_(outer_ == nullptr || outer_->dispatcher_ != d) {
  if (outermost_) tls_scope = this;
}

Dispatcher::WakeScope::~WakeScope() {
  if (!outermost_) return;
  dispatcher_->WakeDeferredWriters();
  tls_scope = outer_;
}

void Dispatcher::Run(Completions& completions) {
  if (completions.empty()) return;
  WakeScope wakes(this);
  for (Completion& c : completions) {
    if (c.cancellation != nullptr) c.cancellation->RemoveCallback(c.cancel_handle);
    if (!c.raw_done) {
      c.done(std::move(c.result));
    } else if (c.result.ok()) {
      c.raw_done(RawAnswer{*std::move(c.result), c.protobuf_answer});
    } else {
      c.raw_done(std::move(c.result).status());
    }
  }
  completions.clear();
}

void Dispatcher::WakeWriterLocked(Session& session) {
  WakeScope* d = tls_scope;
  if (d == nullptr || d->dispatcher_ != this) {
    // While another thread holds the write turn, it hands what is queued
    // to the writer when it gives the turn up (WriterHasWorkLocked).
    if (!session.stream->direct_writing) session.stream->wake.Signal();
    return;
  }
  for (const auto& s : d->streams_) {
    if (s == session.stream) return;
  }
  d->streams_.push_back(session.stream);
}

void Dispatcher::WakeDeferredWriters() {
  WakeScope* d = tls_scope;
  if (d == nullptr || d->dispatcher_ != this) return;
  // A direct write may end calls whose completions defer more wake-ups.
  while (!d->streams_.empty()) {
    decltype(d->streams_) streams;
    streams.swap(d->streams_);
    WriteOrWake(streams);
  }
}

Session* Dispatcher::FindSessionLocked(absl::string_view client_id) {
  auto it = sessions_.find(client_id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Dispatcher::AddDeadlineLocked(absl::Time when, DeadlineQueue::Kind kind,
                                   absl::string_view key, uint64_t stamp,
                                   DeadlineQueue::Handle* handle) {
  auto h = deadlines_.Add(when, kind, key, stamp);
  if (handle != nullptr) *handle = h;
  if (timer_sleep_.NeedsWake(when)) timer_wake_.Signal();
}

std::string Dispatcher::StartCall(absl::string_view client_id,
                                  absl::string_view method,
                                  std::string payload_json,
                                  const CallOptions& options,
                                  CallCallback done) {
  return Start(client_id, method, std::move(payload_json), nullptr, options,
               std::move(done), nullptr);
}

std::string Dispatcher::StartProtoCall(absl::string_view client_id,
                                       absl::string_view method,
                                       std::string request_proto,
                                       const RequestTranscoder& transcoder,
                                       const CallOptions& options,
                                       RawCallCallback done) {
  return Start(client_id, method, std::move(request_proto), &transcoder,
               options, nullptr, std::move(done));
}

std::string Dispatcher::Start(absl::string_view client_id,
                              absl::string_view method, std::string payload,
                              const RequestTranscoder* transcoder,
                              const CallOptions& options, CallCallback done,
                              RawCallCallback raw_done) {
  // The request is sent (or its writer woken) when this returns, after the
  // lock is released; inside a completion, when the completions are done.
  WakeScope wakes(this);
  auto fail = [&](absl::Status status) {
    if (raw_done) {
      raw_done(std::move(status));
    } else {
      done(std::move(status));
    }
    return std::string();
  };
  absl::Status invalid = ValidateClientId(client_id);
  if (invalid.ok()) invalid = ValidateMethodName(method);
  // The limit applies to the payload as it goes on the wire: protobuf bytes
  // travel in base64 (the JSON a typed request may become is checked when
  // it is made, in NextWrite).
  const size_t wire_bytes =
      transcoder == nullptr ? payload.size() : Base64Size(payload.size());
  if (invalid.ok() && wire_bytes > options_.max_body_bytes) {
    MutexLock lock(&mu_);
    ++stats_.refused_payload_too_large;
    invalid = absl::ResourceExhaustedError(
        absl::StrCat("request payload is ", wire_bytes,
                     " bytes on the wire; the limit is ",
                     options_.max_body_bytes));
  }
  if (invalid.ok() && transcoder == nullptr) {
    if (payload.empty()) payload = "{}";
    invalid = json::Validate(payload);
  }
  if (invalid.ok() && options.timeout <= absl::ZeroDuration()) {
    invalid = absl::DeadlineExceededError("timeout is not positive");
  }
  if (invalid.ok() && options.cancellation != nullptr &&
      options.cancellation->IsCancelled()) {
    invalid = options.cancellation->status();
  }
  if (!invalid.ok()) return fail(std::move(invalid));

  const absl::Time now = clock_->Now();
  auto request = std::make_shared<OutgoingRequest>();
  request->call_id = NewCallId();
  request->method = std::string(method);
  request->payload = std::move(payload);
  request->transcoder = transcoder;
  request->deadline = now + std::min(options.timeout, options_.max_timeout);
  const std::string call_id = request->call_id;

  Completions completions;
  absl::Status refused;
  {
    MutexLock lock(&mu_);
    Session* session = FindSessionLocked(client_id);
    if (shutting_down_) {
      refused = absl::UnavailableError("server is shutting down");
    } else if (session == nullptr ||
               session->state == SessionState::kAbsent) {
      if (!options.wait_for_client) {
        refused = absl::UnavailableError(
            absl::StrCat("client ", client_id, " is not connected"));
      }
    }
    if (refused.ok() && session == nullptr &&
        sessions_.size() >= options_.max_clients) {
      refused = absl::ResourceExhaustedError(absl::StrCat(
          "the server holds its maximum of ", options_.max_clients, " clients"));
      ++stats_.refused_max_clients;
    }
    if (refused.ok() && calls_.size() >= options_.max_pending_total) {
      refused = absl::ResourceExhaustedError("too many pending calls");
      ++stats_.refused_pending_total;
    }
    if (refused.ok() && session != nullptr &&
        session->pending_count() >= options_.max_pending_per_client) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("too many pending calls for client ", client_id));
      ++stats_.refused_pending_per_client;
    }
    OutboxItem item;
    item.request = request;
    if (refused.ok() && session != nullptr &&
        session->state == SessionState::kConnected &&
        !session->HasRoomFor(item.bytes(), options_.max_outbox_bytes)) {
      const absl::Time writing_since = session->stream->writing_since;
      if (writing_since != absl::InfiniteFuture() &&
          now - writing_since >= options_.max_write_stall) {
        refused = absl::ResourceExhaustedError(absl::StrCat(
            "client ", client_id, " is not reading its stream; cut off"));
        CutOffLocked(*session, refused, &completions);
        ++stats_.clients_cut_off;
      } else {
        refused = absl::ResourceExhaustedError(
            absl::StrCat("outbox of client ", client_id, " is full"));
        ++stats_.refused_outbox_full;
      }
    }
    if (refused.ok()) {
      if (session == nullptr) {
        auto owned = std::make_unique<Session>(std::string(client_id), 1);
        session = owned.get();
        sessions_.emplace(session->client_id(), std::move(owned));
      }
      PendingCall call;
      call.client_id = session->client_id();
      call.event_id = session->NextEventId();
      call.request = request;
      call.wait_for_client = options.wait_for_client;
      call.done = std::move(done);
      call.raw_done = std::move(raw_done);
      call.cancellation = options.cancellation;
      AddDeadlineLocked(request->deadline, DeadlineQueue::Kind::kCall, call_id,
                        0, &call.deadline_handle);
      session->AddPending(call.event_id, request);
      ++session->calls_sent;
      ++stats_.calls_started;
      item.event_id = call.event_id;
      calls_.emplace(absl::string_view(request->call_id), std::move(call));
      if (session->state == SessionState::kConnected) {
        session->Push(std::move(item), options_.max_outbox_bytes);  // has room
        WakeWriterLocked(*session);
      }
    }
  }
  Run(completions);
  if (!refused.ok()) return fail(std::move(refused));

  if (options.cancellation != nullptr) {
    uint64_t handle = options.cancellation->AddCallback(
        [this, call_id, c = options.cancellation.get()] {
          Cancel(call_id, c->status());
        });
    bool still_pending = false;
    {
      MutexLock lock(&mu_);
      auto it = calls_.find(call_id);
      if (it != calls_.end()) {
        it->second.cancel_handle = handle;
        still_pending = true;
      }
    }
    if (!still_pending) options.cancellation->RemoveCallback(handle);
  }
  return call_id;
}

CallResult Dispatcher::CallAndWait(absl::string_view client_id,
                                   absl::string_view method,
                                   std::string payload_json,
                                   const CallOptions& options) {
  Notification done;
  CallResult result;
  StartCall(client_id, method, std::move(payload_json), options,
            [&](CallResult r) {
              result = std::move(r);
              done.Notify();
            });
  // Called from a completion: its request must not wait for the others.
  WakeDeferredWriters();
  // The deadline timer guarantees the call ends, so no timeout is needed.
  done.WaitForNotification();
  return result;
}

RawCallResult Dispatcher::ProtoCallAndWait(absl::string_view client_id,
                                           absl::string_view method,
                                           std::string request_proto,
                                           const RequestTranscoder& transcoder,
                                           const CallOptions& options) {
  Notification done;
  RawCallResult result;
  StartProtoCall(client_id, method, std::move(request_proto), transcoder,
                 options, [&](RawCallResult r) {
                   result = std::move(r);
                   done.Notify();
                 });
  WakeDeferredWriters();  // as in CallAndWait
  done.WaitForNotification();
  return result;
}

bool Dispatcher::FinishLocked(absl::string_view call_id, CallResult result,
                              bool tell_client, Completions* out,
                              bool protobuf_answer) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return false;
  FinishLocked(it, std::move(result), tell_client, out, protobuf_answer);
  return true;
}

void Dispatcher::FinishLocked(CallTable::iterator it, CallResult result,
                              bool tell_client, Completions* out,
                              bool protobuf_answer) {
  PendingCall call = std::move(it->second);
  calls_.erase(it);
  if (call.deadline_handle != deadlines_.end()) {
    deadlines_.Remove(call.deadline_handle);
  }
  ++(result.ok() ? stats_.calls_answered : stats_.calls_failed);
  if (Session* session = FindSessionLocked(call.client_id)) {
    session->RemovePending(call.event_id);
    if (result.ok()) {
      ++session->calls_answered;
    } else {
      ++session->calls_failed;
    }
    if (tell_client && !result.ok()) {
      session->PushCancel(call.request->call_id, result.status().code(),
                          options_.max_retained_cancels);
      if (session->state == SessionState::kConnected) {
        WakeWriterLocked(*session);
      }
    }
    MaybeEraseSessionLocked(*session);
  }
  out->push_back(Completion{std::move(call.done), std::move(call.raw_done),
                            std::move(result), protobuf_answer,
                            std::move(call.cancellation), call.cancel_handle,
                            std::move(call.request),
                            std::move(call.client_id)});
}

bool Dispatcher::Cancel(absl::string_view call_id, absl::Status status) {
  if (status.ok()) status = absl::CancelledError("cancelled");
  Completions completions;
  bool found;
  {
    MutexLock lock(&mu_);
    found = FinishLocked(call_id, std::move(status), /*tell_client=*/true,
                         &completions);
  }
  Run(completions);
  return found;
}

void Dispatcher::CutOffLocked(Session& session, const absl::Status& why,
                              Completions* out) {
  StreamLostLocked(session, why);
  for (const std::string& id : session.PendingCallIds()) {
    FinishLocked(id, why, /*tell_client=*/true, out);
  }
}

void Dispatcher::StreamLostLocked(Session& session, absl::Status why) {
  if (session.stream != nullptr) {
    session.stream->closed = true;
    session.stream->close_reason = std::move(why);
    session.stream->wake.Signal();
    session.stream.reset();
  }
  session.state = SessionState::kGrace;
  session.DropQueuedRequests();
  ++session.disconnect_stamp;
  if (session.grace_deadline.has_value()) deadlines_.Remove(*session.grace_deadline);
  DeadlineQueue::Handle handle;
  AddDeadlineLocked(clock_->Now() + options_.resume_grace,
                    DeadlineQueue::Kind::kSessionGrace, session.client_id(),
                    session.disconnect_stamp, &handle);
  session.grace_deadline = handle;
}

void Dispatcher::MaybeEraseSessionLocked(Session& session) {
  if (session.state == SessionState::kAbsent && session.pending_count() == 0) {
    sessions_.erase(session.client_id());
  }
}

absl::StatusOr<std::shared_ptr<StreamState>> Dispatcher::OpenStream(
    absl::string_view client_id, std::optional<uint64_t> last_event_id,
    bool protobuf_payloads) {
  absl::Status invalid = ValidateClientId(client_id);
  if (!invalid.ok()) return invalid;
  MutexLock lock(&mu_);
  if (shutting_down_) return absl::UnavailableError("server is shutting down");
  Session* session = FindSessionLocked(client_id);
  if (session == nullptr && sessions_.size() >= options_.max_clients) {
    ++stats_.refused_max_clients;
    return absl::ResourceExhaustedError(
        absl::StrCat("the server holds its maximum of ", options_.max_clients,
                     " clients"));
  }
  // Each client holds about two connection threads (stream and answers),
  // mostly blocked: keep the kernel's futex hash in step (a no-op unless
  // the count has doubled since the last time).
  ReserveFutexSlots(2 * sessions_.size() + 64);
  if (session == nullptr) {
    uint64_t first = last_event_id.has_value() ? *last_event_id + 1 : 1;
    auto owned = std::make_unique<Session>(std::string(client_id), first);
    session = owned.get();
    sessions_.emplace(session->client_id(), std::move(owned));
  }
  if (last_event_id.has_value() && *last_event_id >= session->next_event_id()) {
    // The client saw ids from a session this server no longer has (it was
    // forgotten, or the server restarted). Number what waits for it above
    // them, so it is resumed and ids keep increasing.
    for (const auto& [call_id, event_id] :
         session->RenumberPendingAbove(*last_event_id)) {
      calls_.at(call_id).event_id = event_id;
    }
  }
  if (session->stream != nullptr) {  // takeover
    session->stream->closed = true;
    session->stream->close_reason =
        absl::AbortedError("another stream for this client took over");
    session->stream->wake.Signal();
  }
  auto stream = std::make_shared<StreamState>();
  stream->client_id = session->client_id();
  stream->generation = next_generation_++;
  stream->protobuf_payloads = protobuf_payloads;
  AppendSseRetry(absl::ToInt64Milliseconds(options_.retry_hint),
                 &stream->preamble);
  std::string data;
  AppendSessionData(client_id, absl::ToInt64Milliseconds(options_.heartbeat),
                    protobuf_payloads, &data);
  AppendSseEvent("session", data, 0, &stream->preamble);

  if (session->grace_deadline.has_value()) {
    deadlines_.Remove(*session->grace_deadline);
    session->grace_deadline.reset();
  }
  session->stream = stream;
  session->state = SessionState::kConnected;
  ++stats_.streams_opened;
  session->connected_since = clock_->Now();
  ++session->streams_opened;
  session->DropQueuedRequests();
  session->QueueResume(last_event_id);
  return stream;
}

Dispatcher::WriteStatus Dispatcher::NextWrite(StreamState& stream,
                                              absl::Duration max_wait_idle,
                                              absl::Duration max_wait_busy,
                                              std::string* out) {
  OutboxBatch items;
  {
    MutexLock lock(&mu_);
    stream.writing_since = absl::InfiniteFuture();  // the last write is done
    const absl::Time start = absl::Now();
    bool timed_out = false;
    while (true) {
      if (stream.direct_writing) {
        // Another thread is sending on the connection: the turn comes back
        // when it is done (it signals `wake` because of turn_wanted).
        stream.turn_wanted = true;
        stream.wake.Wait(&mu_);
        stream.turn_wanted = false;
        continue;
      }
      if (stream.closed || shutting_down_) return CloseLocked(stream, out);
      if (!stream.preamble.empty()) {
        out->append(stream.preamble);
        stream.preamble.clear();
      }
      if (stream.direct != nullptr && stream.direct->needs_writer()) {
        // Bytes a direct write left, or its failure: the caller's next
        // write sends them (or fails) before anything else.
        stream.writing_since = clock_->Now();
        return WriteStatus::kData;
      }
      Session* session = FindSessionLocked(stream.client_id);
      if (session != nullptr && session->stream.get() == &stream &&
          !session->outbox_empty()) {
        items = TakeSendableLocked(*session);
        stream.writing_since = clock_->Now();
        break;
      }
      if (!out->empty()) {
        stream.writing_since = clock_->Now();
        return WriteStatus::kData;
      }
      if (timed_out) return WriteStatus::kIdle;
      const bool busy = session != nullptr && session->pending_count() > 0;
      const absl::Time give_up = start + (busy ? max_wait_busy : max_wait_idle);
      stream.writer_parked = true;
      stream.writer_waits_long = !busy && max_wait_idle > max_wait_busy;
      timed_out = stream.wake.WaitWithDeadline(&mu_, give_up);
      stream.writer_parked = false;
    }
  }
  // Formatting happens outside the lock: requests are immutable.
  std::vector<std::pair<std::string, absl::Status>> unsendable;
  FormatEvents(stream, items, out, &unsendable);
  FailUnsendable(unsendable);
  return WriteStatus::kData;
}

bool Dispatcher::writer_parked(StreamState& stream) {
  MutexLock lock(&mu_);
  return stream.writer_parked;
}

bool Dispatcher::writer_waits_for_turn(StreamState& stream) {
  MutexLock lock(&mu_);
  return stream.turn_wanted;
}

void Dispatcher::SetDirectSender(StreamState& stream, DirectSender* direct) {
  MutexLock lock(&mu_);
  stream.direct = direct;
}

void Dispatcher::WriteOrWake(
    absl::Span<const std::shared_ptr<StreamState>> streams) {
  // This thread's buffer, kept from one write to the next.
  thread_local std::string out;
  // Nothing written here needs converting, so nothing is unsendable.
  std::vector<std::pair<std::string, absl::Status>> unsendable;
  // The stream just written: its turn is given back under the same lock
  // that takes the next one's (the mutex is the server's most contended),
  // but no turn is held while another stream is written.
  StreamState* written = nullptr;
  size_t next = 0;
  while (true) {
    StreamState* stream = nullptr;
    DirectSender* direct = nullptr;
    OutboxBatch items;
    {
      MutexLock lock(&mu_);
      if (written != nullptr) {
        written->direct_writing = false;
        written->writing_since = absl::InfiniteFuture();
        if (WriterHasWorkLocked(*written)) written->wake.Signal();
        written = nullptr;
      }
      for (; next < streams.size() && stream == nullptr; ++next) {
        StreamState& s = *streams[next];
        // A thread sending on the stream now passes what is queued to the
        // writer when it is done.
        if (s.direct_writing) continue;
        Session* session = FindSessionLocked(s.client_id);
        if (session == nullptr || session->stream.get() != &s ||
            session->outbox_empty()) {
          continue;  // nothing for it (its writer took it, or it ended)
        }
        // Converting typed requests to JSON is left to the writer: it may
        // be slow (large messages), and a request that cannot be converted
        // ends its call, whose callback must not run inside this thread's
        // call into the library (it may hold a lock of its own).
        if (s.direct == nullptr || !s.writer_parked || s.turn_wanted ||
            s.closed || shutting_down_ || !s.preamble.empty() ||
            s.direct->needs_writer() ||
            (!s.protobuf_payloads && session->outbox_has_typed_request())) {
          s.wake.Signal();
          continue;
        }
        items = TakeSendableLocked(*session);
        stream = &s;
        direct = s.direct;
        s.direct_writing = true;
        s.writing_since = clock_->Now();
      }
    }
    if (stream == nullptr) break;
    out.clear();
    FormatEvents(*stream, items, &out, &unsendable);
    direct->SendNow(out);
    written = stream;
  }
  ReleaseIfLarge(out);
  FailUnsendable(unsendable);  // (empty; kept so no call could be lost)
}

bool Dispatcher::WriterHasWorkLocked(StreamState& stream) {
  if (stream.turn_wanted || stream.closed || shutting_down_) return true;
  if (!stream.writer_parked) return false;  // it looks for work itself
  // Bytes the socket did not take, or its failure.
  if (stream.direct != nullptr && stream.direct->needs_writer()) return true;
  Session* session = FindSessionLocked(stream.client_id);
  if (session == nullptr || session->stream.get() != &stream) return false;
  // Events queued meanwhile: the threads that queued them left them to the
  // thread that held the turn, which sends one batch only (sending more
  // would hold up its own work; measured: a longer S2 tail).
  if (!session->outbox_empty()) return true;
  // A writer waiting the long (idle) time must learn that calls now wait
  // for this client, to check its connection sooner.
  return stream.writer_waits_long && session->pending_count() > 0;
}

OutboxBatch Dispatcher::TakeSendableLocked(Session& session) {
  OutboxBatch items = session.TakeOutbox();
  // A call that ended while queued is not sent (its cancel, queued after
  // it, is then sent needlessly but harmlessly).
  items.erase(std::remove_if(items.begin(), items.end(),
                             [&](const OutboxItem& i) {
                               return i.is_request() &&
                                      !calls_.contains(i.request->call_id);
                             }),
              items.end());
  return items;
}

void Dispatcher::FormatEvents(
    const StreamState& stream, const OutboxBatch& items,
    std::string* out,
    std::vector<std::pair<std::string, absl::Status>>* unsendable) {
  const absl::Time now = clock_->Now();
  thread_local std::string data;  // kept from one call to the next
  for (const OutboxItem& item : items) {
    data.clear();
    if (!item.is_request()) {
      AppendCancelData(item.cancel_call_id, item.cancel_code, &data);
      AppendSseEvent("cancel", data, 0, out);
      continue;
    }
    const OutgoingRequest& r = *item.request;
    const int64_t timeout_ms = RemainingMs(r.deadline, now);
    if (r.transcoder == nullptr) {
      AppendRequestData(r.call_id, r.method, timeout_ms, r.payload, &data);
    } else if (stream.protobuf_payloads) {
      AppendRequestDataProto(r.call_id, r.method, timeout_ms, r.payload, &data);
      AppendSseEvent("request-proto", data, item.event_id, out);
      continue;
    } else {
      // Typed requests this client cannot be sent in JSON: their calls end.
      absl::StatusOr<std::string> json = r.transcoder->ToJson(r.payload);
      if (!json.ok()) {
        unsendable->emplace_back(
            r.call_id, absl::InternalError(absl::StrCat(
                           "cannot send the request as JSON: ",
                           json.status().message())));
        continue;
      }
      if (json->size() > options_.max_body_bytes) {
        unsendable->emplace_back(
            r.call_id,
            absl::ResourceExhaustedError(absl::StrCat(
                "the request is ", json->size(),
                " bytes as JSON (the client did not ask for protobuf); "
                "the limit is ", options_.max_body_bytes)));
        continue;
      }
      AppendRequestData(r.call_id, r.method, timeout_ms, *json, &data);
    }
    AppendSseEvent("request", data, item.event_id, out);
  }
  ReleaseIfLarge(data);
}

void Dispatcher::FailUnsendable(
    std::vector<std::pair<std::string, absl::Status>>& unsendable) {
  if (unsendable.empty()) return;
  // The client never saw these requests: no cancel is queued for them.
  Completions completions;
  {
    MutexLock lock(&mu_);
    for (auto& [call_id, why] : unsendable) {
      if (why.code() == absl::StatusCode::kResourceExhausted) {
        ++stats_.refused_payload_too_large;
      }
      FinishLocked(call_id, std::move(why), /*tell_client=*/false,
                   &completions);
    }
  }
  unsendable.clear();
  Run(completions);
}

Dispatcher::WriteStatus Dispatcher::CloseLocked(StreamState& stream,
                                                std::string* out) {
  if (!stream.close_reason.ok()) {
    AppendSseEvent("close", ErrorBody(stream.close_reason), 0, out);
    stream.close_reason = absl::OkStatus();  // said once
  }
  return WriteStatus::kClosed;
}

void Dispatcher::StreamEnded(StreamState& stream) {
  MutexLock lock(&mu_);
  stream.direct = nullptr;  // the connection is gone
  if (stream.closed) return;  // taken over, cut off or shut down already
  stream.closed = true;
  Session* session = FindSessionLocked(stream.client_id);
  if (session != nullptr && session->stream.get() == &stream) {
    StreamLostLocked(*session, absl::OkStatus());
  }
}

absl::Status Dispatcher::DeliverLocked(absl::string_view client_id,
                                       ReplyEnvelope& reply,
                                       Completions* completions) {
  auto it = calls_.find(reply.call_id);
  if (it == calls_.end() || it->second.client_id != client_id) {
    return absl::NotFoundError(absl::StrCat(
        "no pending call \"", reply.call_id, "\" for this client"));
  }
  if (reply.protobuf && reply.error.ok() &&
      it->second.request->transcoder == nullptr) {
    // The caller gave JSON and expects JSON back; only typed calls (whose
    // callers can read both) take protobuf answers. Nothing changes.
    return absl::InvalidArgumentError(absl::StrCat(
        "call \"", reply.call_id,
        "\" was made with a JSON payload: answer it in JSON"));
  }
  CallResult result = reply.error.ok() ? CallResult(std::move(reply.payload))
                                       : CallResult(std::move(reply.error));
  FinishLocked(it, std::move(result), /*tell_client=*/false, completions,
               reply.protobuf && reply.error.ok());
  return absl::OkStatus();
}

absl::Status Dispatcher::DeliverReply(absl::string_view client_id,
                                      ReplyEnvelope reply) {
  Completions completions;
  absl::Status status;
  {
    MutexLock lock(&mu_);
    status = DeliverLocked(client_id, reply, &completions);
  }
  Run(completions);
  return status;
}

std::vector<absl::Status> Dispatcher::DeliverReplies(
    absl::string_view client_id, std::vector<ReplyEnvelope>* replies) {
  Completions completions;
  completions.reserve(replies->size());
  std::vector<absl::Status> statuses;
  statuses.reserve(replies->size());
  {
    MutexLock lock(&mu_);
    for (ReplyEnvelope& reply : *replies) {
      statuses.push_back(DeliverLocked(client_id, reply, &completions));
    }
  }
  Run(completions);
  return statuses;
}

void Dispatcher::ExpireGraceLocked(Session& session, Completions* out) {
  session.state = SessionState::kAbsent;
  session.TakeOutbox();  // retained cancels: nobody to tell any more
  const std::string client_id = session.client_id();
  for (const std::string& id : session.PendingCallIds()) {
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second.wait_for_client) continue;
    FinishLocked(id,
                 absl::UnavailableError(absl::StrCat(
                     "client ", client_id,
                     " disconnected and did not resume in time")),
                 /*tell_client=*/false, out);
  }
  // FinishLocked may have erased the session already.
  if (Session* s = FindSessionLocked(client_id)) MaybeEraseSessionLocked(*s);
}

void Dispatcher::ExpireDueLocked(absl::Time now, Completions* out) {
  // One entry at a time: ending one call or session may end others, whose
  // queued deadlines must still be there to be removed.
  while (std::optional<DeadlineQueue::Entry> due = deadlines_.PopFirstDue(now)) {
    DeadlineQueue::Entry& e = *due;
    if (e.kind == DeadlineQueue::Kind::kCall) {
      auto it = calls_.find(e.key);
      if (it == calls_.end()) continue;
      it->second.deadline_handle = deadlines_.end();  // already popped
      FinishLocked(it, absl::DeadlineExceededError("deadline exceeded"),
                   /*tell_client=*/true, out);
    } else {
      Session* session = FindSessionLocked(e.key);
      if (session != nullptr) session->grace_deadline.reset();  // popped
      if (session != nullptr && session->state == SessionState::kGrace &&
          session->disconnect_stamp == e.stamp) {
        ExpireGraceLocked(*session, out);
      }
    }
  }
}

void Dispatcher::ExpireDue() {
  Completions completions;
  {
    MutexLock lock(&mu_);
    ExpireDueLocked(clock_->Now(), &completions);
  }
  Run(completions);
}

uint64_t Dispatcher::timer_wakeups() {
  MutexLock lock(&mu_);
  return timer_sleep_.wakeups();
}

void Dispatcher::RunTimer() {
  mu_.Lock();
  while (!shutting_down_) {
    std::optional<absl::Time> next = deadlines_.Next();
    absl::Time now = clock_->Now();
    if (next.has_value() && *next <= now) {
      Completions completions;
      ExpireDueLocked(now, &completions);
      mu_.Unlock();
      Run(completions);
      mu_.Lock();
      continue;
    }
    timer_sleep_.Sleep(timer_wake_, &mu_,
                       next.value_or(absl::InfiniteFuture()), now);
  }
  mu_.Unlock();
}

void Dispatcher::Shutdown() {
  Completions completions;
  {
    MutexLock lock(&mu_);
    shutting_down_ = true;
    timer_wake_.SignalAll();
    for (auto& entry : sessions_) {
      if (entry.second->stream != nullptr) {
        entry.second->stream->closed = true;
        entry.second->stream->close_reason =
            absl::UnavailableError("server is shutting down");
        entry.second->stream->wake.Signal();
      }
    }
    std::vector<std::string> ids;
    ids.reserve(calls_.size());
    for (const auto& entry : calls_) ids.emplace_back(entry.first);
    for (const std::string& id : ids) {
      FinishLocked(id, absl::UnavailableError("server is shutting down"),
                   /*tell_client=*/false, &completions);
    }
  }
  Run(completions);
}

std::vector<ClientInfo> Dispatcher::ListClients() {
  MutexLock lock(&mu_);
  std::vector<ClientInfo> out;
  out.reserve(sessions_.size());
  for (const auto& entry : sessions_) {
    const Session& s = *entry.second;
    ClientInfo info;
    info.client_id = s.client_id();
    info.state = StateName(s.state);
    info.pending = s.pending_count();
    info.calls_sent = s.calls_sent;
    info.calls_answered = s.calls_answered;
    info.calls_failed = s.calls_failed;
    info.streams_opened = s.streams_opened;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const ClientInfo& a, const ClientInfo& b) {
              return a.client_id < b.client_id;
            });
  return out;
}

ServerStats Dispatcher::Stats() {
  MutexLock lock(&mu_);
  ServerStats s = stats_;
  s.pending_calls = calls_.size();
  for (const auto& entry : sessions_) s.open_streams += entry.second->stream != nullptr;
  return s;
}

size_t Dispatcher::pending_calls() { return Stats().pending_calls; }

size_t Dispatcher::open_streams() { return Stats().open_streams; }

}  // namespace sserpc::server_internal
