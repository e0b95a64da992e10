#include "server/deadline_queue.h"

namespace sserpc::server_internal {

std::vector<DeadlineQueue::Entry> DeadlineQueue::PopDue(absl::Time now) {
  std::vector<Entry> due;
  auto it = entries_.begin();
  while (it != entries_.end() && it->first <= now) {
    due.push_back(std::move(it->second));
    it = entries_.erase(it);
  }
  return due;
}

std::optional<DeadlineQueue::Entry> DeadlineQueue::PopFirstDue(absl::Time now) {
  auto it = entries_.begin();
  if (it == entries_.end() || it->first > now) return std::nullopt;
  Entry e = std::move(it->second);
  entries_.erase(it);
  return e;
}

std::optional<absl::Time> DeadlineQueue::Next() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.begin()->first;
}

}  // namespace sserpc::server_internal
