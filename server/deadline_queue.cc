#include "server/deadline_queue.h"

namespace sserpc::server_internal {

// New entries are inserted with end() as the hint: calls with the same
// timeout come in deadline order, so the hint is usually right and saves
// the search (a wrong hint costs only that search). For equal deadlines the
// hint keeps insertion order.

DeadlineQueue::Handle DeadlineQueue::Add(absl::Time when, Entry entry) {
  return Add(when, entry.kind, entry.key, entry.stamp);
}

DeadlineQueue::Handle DeadlineQueue::Add(absl::Time when, Kind kind,
                                         absl::string_view key,
                                         uint64_t stamp) {
  if (spare_.empty()) {
    return entries_.emplace_hint(entries_.end(), when,
                                 Entry{kind, std::string(key), stamp});
  }
  Map::node_type node = std::move(spare_.back());
  spare_.pop_back();
  node.key() = when;
  Entry& e = node.mapped();
  e.kind = kind;
  e.key.assign(key.data(), key.size());
  e.stamp = stamp;
  return entries_.insert(entries_.end(), std::move(node));
}

void DeadlineQueue::Remove(Handle handle) {
  Recycle(entries_.extract(handle));
}

void DeadlineQueue::Recycle(Map::node_type node) {
  if (spare_.size() < kMaxSpareNodes) spare_.push_back(std::move(node));
}

std::vector<DeadlineQueue::Entry> DeadlineQueue::PopDue(absl::Time now) {
  std::vector<Entry> due;
  auto it = entries_.begin();
  while (it != entries_.end() && it->first <= now) {
    due.push_back(std::move(it->second));
    Recycle(entries_.extract(it++));
  }
  return due;
}

std::optional<DeadlineQueue::Entry> DeadlineQueue::PopFirstDue(absl::Time now) {
  auto it = entries_.begin();
  if (it == entries_.end() || it->first > now) return std::nullopt;
  Entry e = std::move(it->second);
  Recycle(entries_.extract(it));
  return e;
}

std::optional<absl::Time> DeadlineQueue::Next() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.begin()->first;
}

}  // namespace sserpc::server_internal
