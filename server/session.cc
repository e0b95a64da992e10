#include "server/session.h"

#include <algorithm>

namespace sserpc::server_internal {

size_t OutboxItem::bytes() const {
  // Fixed overhead stands for the event's framing.
  constexpr size_t kFraming = 96;
  if (request != nullptr) {
    // Protobuf bytes go out in base64 (or as JSON of about that size).
    const size_t payload = request->transcoder == nullptr
                               ? request->payload.size()
                               : (request->payload.size() + 2) / 3 * 4;
    return kFraming + request->call_id.size() + request->method.size() +
           payload;
  }
  return kFraming + cancel_call_id.size();
}

bool Session::Push(OutboxItem item, size_t max_bytes) {
  size_t b = item.bytes();
  if (outbox_bytes_ + b > max_bytes) return false;
  outbox_bytes_ += b;
  if (!item.is_request()) ++outbox_cancels_;
  outbox_.push_back(std::move(item));
  return true;
}

void Session::PushCancel(std::string call_id, absl::StatusCode code,
                         size_t max_retained) {
  OutboxItem item;
  item.cancel_call_id = std::move(call_id);
  item.cancel_code = code;
  if (state != SessionState::kConnected) {
    // Only cancels wait while no stream is open (requests stay pending).
    while (outbox_cancels_ >= max_retained && !outbox_.empty()) {
      if (!outbox_.front().is_request()) --outbox_cancels_;
      outbox_bytes_ -= outbox_.front().bytes();
      outbox_.pop_front();
    }
    if (max_retained == 0) return;
  }
  outbox_bytes_ += item.bytes();
  ++outbox_cancels_;
  outbox_.push_back(std::move(item));
}

std::vector<std::pair<std::string, uint64_t>> Session::RenumberPendingAbove(
    uint64_t last_event_id) {
  std::vector<std::pair<std::string, uint64_t>> changes;
  decltype(pending_) renumbered;
  uint64_t next = last_event_id + 1;
  for (auto& entry : pending_) {
    changes.emplace_back(entry.second->call_id, next);
    renumbered.emplace(next++, std::move(entry.second));
  }
  pending_.swap(renumbered);
  next_event_id_ = std::max(next_event_id_, next);
  return changes;
}

std::vector<std::string> Session::PendingCallIds() const {
  std::vector<std::string> ids;
  ids.reserve(pending_.size());
  for (const auto& entry : pending_) ids.push_back(entry.second->call_id);
  return ids;
}

bool Session::outbox_has_typed_request() const {
  for (const OutboxItem& item : outbox_) {
    if (item.is_request() && item.request->transcoder != nullptr) return true;
  }
  return false;
}

OutboxBatch Session::TakeOutbox() {
  // Moved out item by item: the deque keeps its storage for the next events
  // (swapping in a new deque would allocate one, as libstdc++'s deques
  // allocate even when empty).
  OutboxBatch out;
  out.reserve(outbox_.size());
  for (OutboxItem& item : outbox_) out.push_back(std::move(item));
  outbox_.clear();
  outbox_bytes_ = 0;
  outbox_cancels_ = 0;
  return out;
}

void Session::DropQueuedRequests() {
  std::deque<OutboxItem> kept;
  size_t bytes = 0;
  for (OutboxItem& o : outbox_) {
    if (o.is_request()) continue;
    bytes += o.bytes();
    kept.push_back(std::move(o));
  }
  outbox_.swap(kept);
  outbox_bytes_ = bytes;
  outbox_cancels_ = outbox_.size();
}

void Session::QueueResume(std::optional<uint64_t> last_event_id) {
  auto it = last_event_id.has_value() ? pending_.upper_bound(*last_event_id)
                                      : pending_.begin();
  for (; it != pending_.end(); ++it) {
    OutboxItem item;
    item.event_id = it->first;
    item.request = it->second;
    outbox_bytes_ += item.bytes();
    outbox_.push_back(std::move(item));
  }
}

}  // namespace sserpc::server_internal
