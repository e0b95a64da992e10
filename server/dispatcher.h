#ifndef SSERPC_SERVER_DISPATCHER_H_
#define SSERPC_SERVER_DISPATCHER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/clock.h"
#include "proto/envelope.h"
#include "proto/sync.h"
#include "proto/timer_sleep.h"
#include "server/call.h"
#include "server/deadline_queue.h"
#include "server/options.h"
#include "server/session.h"

namespace sserpc::server_internal {

// The heart of the server, with no HTTP in it: the session table, the pending
// call table, deadlines, outboxes and resume. The HTTP layer feeds it streams
// and replies; callers start calls. Thread-safe; one mutex guards all state.
//
// Invariant: a call is in `calls_` exactly while it is pending. Whatever ends
// it (reply, deadline, cancel, grace expiry, cut-off, shutdown) removes it
// under the lock; the completion callback then runs after the lock is
// released. So every call completes exactly once, and never under the lock.
class Dispatcher {
 public:
  // `clock` must outlive the dispatcher.
  Dispatcher(const ServerOptions& options, Clock* clock);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Starts a call and returns its id. If the call cannot start, `done` has
  // already run with the error when this returns, and "" is returned.
  std::string StartCall(absl::string_view client_id, absl::string_view method,
                        std::string payload_json, const CallOptions& options,
                        CallCallback done);

  // StartCall, then waits for the outcome.
  CallResult CallAndWait(absl::string_view client_id, absl::string_view method,
                         std::string payload_json, const CallOptions& options);

  // A typed call: the request is protobuf bytes, sent as they are to a
  // client that negotiated protobuf payloads and as `transcoder`'s JSON to
  // any other; `done` gets the answer in the form the client sent it.
  // `transcoder` must outlive the dispatcher (a writer may be using it when
  // the call ends).
  std::string StartProtoCall(absl::string_view client_id,
                             absl::string_view method,
                             std::string request_proto,
                             const RequestTranscoder& transcoder,
                             const CallOptions& options, RawCallCallback done);
  RawCallResult ProtoCallAndWait(absl::string_view client_id,
                                 absl::string_view method,
                                 std::string request_proto,
                                 const RequestTranscoder& transcoder,
                                 const CallOptions& options);

  // Ends a pending call with `status` and tells the client. Returns false if
  // the call is not pending (unknown, or already ended).
  bool Cancel(absl::string_view call_id, absl::Status status);

  // A stream opened for `client_id` (already authenticated). A stream that
  // was open for it is closed (takeover). Pending requests are queued again:
  // those after `last_event_id`, or all of them without one.
  // `protobuf_payloads`: the client asked for protobuf payloads (typed
  // calls' requests then go to it as `event: request-proto`).
  absl::StatusOr<std::shared_ptr<StreamState>> OpenStream(
      absl::string_view client_id, std::optional<uint64_t> last_event_id,
      bool protobuf_payloads = false);

  enum class WriteStatus { kData, kIdle, kClosed };
  // Waits up to `max_wait` for something to write on `stream` and appends it
  // to *out. kIdle: nothing came in time. kClosed: the stream must end after
  // writing *out (which may hold `event: close`).
  WriteStatus NextWrite(StreamState& stream, absl::Duration max_wait,
                        std::string* out) {
    return NextWrite(stream, max_wait, max_wait, out);
  }
  // The same, waiting at most `max_wait_busy` while the stream's client has
  // calls pending and `max_wait_idle` otherwise: the stream's owner checks
  // for a closed peer after a kIdle, which matters only while someone waits
  // for that client (an idle stream then costs no wake-ups between
  // heartbeats).
  WriteStatus NextWrite(StreamState& stream, absl::Duration max_wait_idle,
                        absl::Duration max_wait_busy, std::string* out);

  // While the outermost WakeScope of a thread lives, the events that
  // thread queues for streams wait; when it ends, this thread sends them
  // itself where the stream's writer is parked (StreamState), or wakes the
  // writer. So answers that arrive together produce one write per stream
  // for the calls they start, not one each, and no thread is woken for
  // them. Every call starting and every completion run is in one; the HTTP
  // layer opens one around answering a POST and writing its response, so
  // the response goes first.
  class WakeScope {
   public:
    explicit WakeScope(Dispatcher* d);
    ~WakeScope();
    WakeScope(const WakeScope&) = delete;
    WakeScope& operator=(const WakeScope&) = delete;

   private:
    friend class Dispatcher;
    Dispatcher* const dispatcher_;
    WakeScope* const outer_;  // the thread's scope before this one
    const bool outermost_;    // for dispatcher_ on this thread
    // Outermost only. Inline room for the streams one answer POST's
    // completions typically write to, without allocating.
    absl::InlinedVector<std::shared_ptr<StreamState>, 8> streams_;
  };

  // Lets threads that queue events for `stream` send them through `direct`
  // while the stream's writer is parked in NextWrite (see StreamState).
  // Call from the writer's thread before its first NextWrite; `direct`
  // must stay valid until the writer's last NextWrite has returned.
  void SetDirectSender(StreamState& stream, DirectSender* direct);

  // The connection carrying `stream` is gone. Its client's calls wait for
  // the client to resume, for the grace period.
  void StreamEnded(StreamState& stream);

  // An answer arrived from `client_id`. NOT_FOUND (changing nothing) if the
  // call is not pending or belongs to another client.
  absl::Status DeliverReply(absl::string_view client_id, ReplyEnvelope reply);
  // Several answers from `client_id` (one POST): one status per answer, in
  // order, as DeliverReply() would give. Payloads and errors are moved out
  // of *replies; the call ids stay (for the caller's per-answer results).
  std::vector<absl::Status> DeliverReplies(absl::string_view client_id,
                                           std::vector<ReplyEnvelope>* replies);

  // Ends everything due by the clock's current time.
  void ExpireDue();

  // Runs deadlines on the real passage of time until Shutdown().
  void RunTimer();
  // How often RunTimer() woke up (for tests of its wake-up policy).
  uint64_t timer_wakeups();

  // Fails every pending call with UNAVAILABLE, closes every stream, refuses
  // new calls and streams, and makes RunTimer() return. Idempotent.
  void Shutdown();

  // For tests of direct writes: `stream`'s writer is parked in NextWrite;
  // it waits for another thread to give the write turn back.
  bool writer_parked(StreamState& stream);
  bool writer_waits_for_turn(StreamState& stream);

  std::vector<ClientInfo> ListClients();
  ServerStats Stats();
  size_t pending_calls();
  size_t open_streams();

 private:
  struct PendingCall {
    std::string client_id;
    uint64_t event_id = 0;
    std::shared_ptr<const OutgoingRequest> request;
    DeadlineQueue::Handle deadline_handle;
    bool wait_for_client = false;
    CallCallback done;         // JSON calls
    RawCallCallback raw_done;  // typed calls
    std::shared_ptr<Cancellation> cancellation;
    uint64_t cancel_handle = 0;
  };
  struct Completion {
    CallCallback done;
    RawCallCallback raw_done;
    CallResult result;
    bool protobuf_answer = false;
    std::shared_ptr<Cancellation> cancellation;
    uint64_t cancel_handle = 0;
    // The call's request and client id, released with the completion, out
    // of the lock (the request is often the last reference).
    std::shared_ptr<const OutgoingRequest> request;
    std::string client_id;
  };
  // Inline room for the completions one answer POST usually brings.
  using Completions = absl::InlinedVector<Completion, 4>;
  using CallTable = absl::flat_hash_map<absl::string_view, PendingCall>;
  // The current thread's outermost WakeScope (of whichever dispatcher).
  static thread_local WakeScope* tls_scope;

  // Removes the call and queues its completion. `tell_client`: the call ended
  // without the client's answer, so the client gets a cancel event.
  // REQUIRES: mu_ held.
  // `protobuf_answer`: `result` holds the client's answer in protobuf.
  bool FinishLocked(absl::string_view call_id, CallResult result,
                    bool tell_client, Completions* out,
                    bool protobuf_answer = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The same for a call already found (one lookup of its id, not two).
  void FinishLocked(CallTable::iterator it, CallResult result,
                    bool tell_client, Completions* out,
                    bool protobuf_answer = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // StartCall and StartProtoCall: exactly one of `done`, `raw_done` is set;
  // `transcoder` is null for a JSON payload.
  std::string Start(absl::string_view client_id, absl::string_view method,
                    std::string payload, const RequestTranscoder* transcoder,
                    const CallOptions& options, CallCallback done,
                    RawCallCallback raw_done);
  // Ends the call `reply` answers (queuing its completion), or NOT_FOUND.
  absl::Status DeliverLocked(absl::string_view client_id, ReplyEnvelope& reply,
                             Completions* completions)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes the session's stream with `why` and fails its pending calls.
  void CutOffLocked(Session& session, const absl::Status& why,
                    Completions* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireDueLocked(absl::Time now, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireGraceLocked(Session& session, Completions* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The session's stream is gone (`why` is sent to it when not OK); calls
  // wait for the client to resume within the grace period.
  void StreamLostLocked(Session& session, absl::Status why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `event: close` if the server ended the stream with a reason.
  WriteStatus CloseLocked(StreamState& stream, std::string* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeEraseSessionLocked(Session& session)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddDeadlineLocked(absl::Time when, DeadlineQueue::Kind kind,
                         absl::string_view key, uint64_t stamp,
                         DeadlineQueue::Handle* handle)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Session* FindSessionLocked(absl::string_view client_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs completions, in a WakeScope. REQUIRES: mu_ not held.
  void Run(Completions& completions);
  // Wakes `session`'s stream writer now, or at the end of the WakeScope
  // this thread is in. REQUIRES: mu_ held; the session has a stream.
  void WakeWriterLocked(Session& session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Handles the wake-ups deferred by the current thread's WakeScope.
  void WakeDeferredWriters();
  // Sends each stream's queued events from this thread if its writer is
  // parked and it has a DirectSender; otherwise wakes its writer.
  // REQUIRES: mu_ not held.
  void WriteOrWake(absl::Span<const std::shared_ptr<StreamState>> streams);
  // After a direct write: the parked writer must wake (see WriteOrWake).
  bool WriterHasWorkLocked(StreamState& stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes `session`'s outbox, without the requests of calls that ended
  // while queued.
  OutboxBatch TakeSendableLocked(Session& session)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `items` to *out as SSE events for `stream`. Typed requests that
  // cannot go to this client are not written but added to *unsendable.
  void FormatEvents(const StreamState& stream,
                    const OutboxBatch& items, std::string* out,
                    std::vector<std::pair<std::string, absl::Status>>* unsendable);
  // Ends the calls FormatEvents() could not send. REQUIRES: mu_ not held.
  void FailUnsendable(
      std::vector<std::pair<std::string, absl::Status>>& unsendable);

  const ServerOptions options_;
  Clock* const clock_;

  Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<std::string, std::unique_ptr<Session>> sessions_
      ABSL_GUARDED_BY(mu_);
  // Keyed by a view of the call id in the call's own request (which the
  // entry holds, so the key lives as long as the entry), not by a copy.
  CallTable calls_ ABSL_GUARDED_BY(mu_);
  DeadlineQueue deadlines_ ABSL_GUARDED_BY(mu_);
  ServerStats stats_ ABSL_GUARDED_BY(mu_);  // counters; gauges filled in Stats()
  CondVar timer_wake_;  // with mu_: an earlier deadline, or shutdown
  // A new deadline wakes RunTimer() only if earlier than it sleeps until.
  TimerSleep timer_sleep_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_DISPATCHER_H_
