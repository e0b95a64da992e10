#ifndef SSERPC_SERVER_SESSION_H_
#define SSERPC_SERVER_SESSION_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/sync.h"
#include "server/call.h"
#include "server/deadline_queue.h"

namespace sserpc::server_internal {

// A request as it goes down the stream. Immutable once built, shared by the
// call table and every outbox that carries it (a request is resent on resume).
struct OutgoingRequest {
  std::string call_id;
  std::string method;
  // Valid JSON; protobuf bytes when `transcoder` is set (a typed call).
  std::string payload;
  const RequestTranscoder* transcoder = nullptr;
  absl::Time deadline;
};

// One event waiting in a session's outbox: a request, or a cancel.
struct OutboxItem {
  uint64_t event_id = 0;                            // requests only
  std::shared_ptr<const OutgoingRequest> request;  // null for a cancel
  std::string cancel_call_id;
  absl::StatusCode cancel_code = absl::StatusCode::kCancelled;

  bool is_request() const { return request != nullptr; }
  // What the item costs against the outbox limit.
  size_t bytes() const;
};

// Events taken from an outbox to be written together. Inline room for the
// few a write usually takes, so taking them allocates nothing.
using OutboxBatch = absl::InlinedVector<OutboxItem, 4>;

// Sends on a stream's connection from a thread other than the stream's
// writer, while the writer is parked (see StreamState). Implemented by the
// HTTP layer (SseSocket); the dispatcher's tests use a fake.
class DirectSender {
 public:
  virtual ~DirectSender() = default;
  // Sends `events` without blocking. What the connection does not take at
  // once is kept, for the writer to send before anything else.
  virtual void SendNow(absl::string_view events) = 0;
  // True when the writer has work left by SendNow(): kept bytes to send, or
  // a failed connection to end.
  virtual bool needs_writer() const = 0;
};

// One SSE connection. Shared between the session (while it is the current
// stream) and the thread writing it, which keeps it alive until it returns.
// Every field is guarded by the dispatcher's mutex.
struct StreamState {
  std::string client_id;
  uint64_t generation = 0;
  bool closed = false;
  // When the writer took its current batch; InfiniteFuture() while it is not
  // writing. A write blocked for long means the client is not reading.
  absl::Time writing_since = absl::InfiniteFuture();
  // Why the server ended the stream; sent as `event: close` when not OK.
  absl::Status close_reason;
  std::string preamble;  // `retry:` and `event: session`, written first
  // The client negotiated protobuf payloads. Set before the stream is
  // shared, then constant (read without the lock).
  bool protobuf_payloads = false;
  CondVar wake;  // signalled when there is something to write

  // Direct writes. Waking the writer for every request costs a thread
  // wake-up and a context switch per round trip; instead, while the writer
  // is parked in Dispatcher::NextWrite, the thread that queued requests
  // takes the write turn and sends them itself, without blocking
  // (`direct`), unless typed requests among them need converting to JSON.
  // The writer waits for the turn to come back before it writes or
  // returns, so the two never write at once and the connection outlives
  // every direct write. Null `direct`: the writer does all writes.
  DirectSender* direct = nullptr;
  bool writer_parked = false;   // the writer waits in NextWrite
  bool direct_writing = false;  // another thread holds the write turn
  bool turn_wanted = false;     // the writer waits for that thread
  // The parked writer waits the idle time, not the shorter one it uses
  // while calls are pending (see Dispatcher::NextWrite).
  bool writer_waits_long = false;
};

enum class SessionState {
  kConnected,  // a stream is open
  kGrace,      // stream lost recently; calls wait for the client to resume
  kAbsent,     // not connected, not resumable; only wait-for-client calls
};

// What the server keeps for one client id. Plain data with the outbox and
// resume rules; the dispatcher's mutex guards every instance.
class Session {
 public:
  Session(std::string client_id, uint64_t first_event_id)
      : client_id_(std::move(client_id)), next_event_id_(first_event_id) {}

  const std::string& client_id() const { return client_id_; }

  SessionState state = SessionState::kAbsent;
  std::shared_ptr<StreamState> stream;  // non-null iff kConnected
  uint64_t disconnect_stamp = 0;        // bumped on every stream loss
  // The queued end of the grace period, while in kGrace.
  std::optional<DeadlineQueue::Handle> grace_deadline;
  absl::Time connected_since;

  // Counters for the client list.
  uint64_t calls_sent = 0;
  uint64_t calls_answered = 0;
  uint64_t calls_failed = 0;
  uint64_t streams_opened = 0;

  // Event ids are strictly increasing for the session's whole life.
  uint64_t NextEventId() { return next_event_id_++; }
  uint64_t next_event_id() const { return next_event_id_; }

  // Gives the pending requests new event ids, in order, starting at
  // `last_event_id + 1`, and continues numbering after them. For requests
  // that were never sent (see Dispatcher::OpenStream). Returns the
  // (call id, new event id) pairs.
  std::vector<std::pair<std::string, uint64_t>> RenumberPendingAbove(
      uint64_t last_event_id);

  // Requests still waiting for this client's answer, by event id.
  void AddPending(uint64_t event_id,
                  std::shared_ptr<const OutgoingRequest> request) {
    pending_.emplace(event_id, std::move(request));
  }
  void RemovePending(uint64_t event_id) { pending_.erase(event_id); }
  size_t pending_count() const { return pending_.size(); }
  std::vector<std::string> PendingCallIds() const;

  // True if an item of `bytes` fits under `max_bytes` of queued events.
  bool HasRoomFor(size_t bytes, size_t max_bytes) const {
    return outbox_bytes_ + bytes <= max_bytes;
  }
  // Queues an event for the current stream. Returns false, changing nothing,
  // if the outbox would then hold more than `max_bytes`.
  bool Push(OutboxItem item, size_t max_bytes);

  // Queues a cancel. While no stream is open the cancel is kept for the next
  // one; at most `max_retained` are kept, the oldest dropped first.
  void PushCancel(std::string call_id, absl::StatusCode code,
                  size_t max_retained);

  // Everything queued, in order; the outbox is left empty.
  OutboxBatch TakeOutbox();
  bool outbox_empty() const { return outbox_.empty(); }
  // True if a queued request is a typed one (protobuf bytes, made JSON for
  // clients that did not ask for protobuf).
  bool outbox_has_typed_request() const;
  size_t outbox_bytes() const { return outbox_bytes_; }

  // The stream is gone: queued requests are dropped (they stay pending and
  // are resent on resume); queued cancels are kept.
  void DropQueuedRequests();

  // A new stream opened: queues every pending request with event id greater
  // than `last_event_id` (all of them when absent), oldest first, after the
  // retained cancels. Ignores the outbox limit: what is resent was accepted.
  void QueueResume(std::optional<uint64_t> last_event_id);

 private:
  const std::string client_id_;
  uint64_t next_event_id_;
  // Ordered by event id (resume sends them in order); a B-tree holds many
  // per node, where std::map allocates one node per call.
  absl::btree_map<uint64_t, std::shared_ptr<const OutgoingRequest>> pending_;
  std::deque<OutboxItem> outbox_;
  size_t outbox_bytes_ = 0;
  size_t outbox_cancels_ = 0;  // cancel items in outbox_
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_SESSION_H_
