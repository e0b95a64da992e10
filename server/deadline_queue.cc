#include "server/deadline_queue.h"

#include <utility>

namespace sserpc::server_internal {

DeadlineQueue::Handle DeadlineQueue::Add(absl::Time when, Entry entry) {
  return Add(when, entry.kind, entry.key, entry.stamp);
}

DeadlineQueue::Handle DeadlineQueue::Add(absl::Time when, Kind kind,
                                         absl::string_view key,
                                         uint64_t stamp) {
  uint32_t slot;
  if (free_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_.back();
    free_.pop_back();
  }
  Slot& s = slots_[slot];
  s.when = when;
  s.seq = next_seq_++;
  s.entry.kind = kind;
  s.entry.key.assign(key.data(), key.size());
  s.entry.stamp = stamp;
  heap_.push_back(slot);
  s.heap_pos = static_cast<uint32_t>(heap_.size() - 1);
  SiftUp(heap_.size() - 1);
  return Handle(slot);
}

void DeadlineQueue::SiftUp(size_t pos) {
  const uint32_t slot = heap_[pos];
  while (pos > 0) {
    const size_t parent = (pos - 1) / 2;
    if (!Before(slot, heap_[parent])) break;
    Place(pos, heap_[parent]);
    pos = parent;
  }
  Place(pos, slot);
}

void DeadlineQueue::SiftDown(size_t pos) {
  const uint32_t slot = heap_[pos];
  const size_t n = heap_.size();
  while (true) {
    size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], slot)) break;
    Place(pos, heap_[child]);
    pos = child;
  }
  Place(pos, slot);
}

void DeadlineQueue::RemoveAt(size_t pos, Entry* entry_out) {
  const uint32_t slot = heap_[pos];
  const uint32_t last = heap_.back();
  heap_.pop_back();
  if (pos < heap_.size()) {
    // The last entry fills the hole and moves whichever way it must.
    Place(pos, last);
    if (pos > 0 && Before(last, heap_[(pos - 1) / 2])) {
      SiftUp(pos);
    } else {
      SiftDown(pos);
    }
  }
  if (entry_out != nullptr) *entry_out = std::move(slots_[slot].entry);
  if (heap_.empty() && slots_.size() > kMaxSpareSlots) {
    // Nothing queued, so no handle is in use: give a burst's slots back.
    slots_.resize(kMaxSpareSlots);
    slots_.shrink_to_fit();
    free_.clear();
    for (uint32_t i = 0; i < kMaxSpareSlots; ++i) free_.push_back(i);
    return;
  }
  free_.push_back(slot);
}

void DeadlineQueue::Remove(Handle handle) {
  RemoveAt(slots_[handle.slot_].heap_pos, nullptr);
}

std::vector<DeadlineQueue::Entry> DeadlineQueue::PopDue(absl::Time now) {
  std::vector<Entry> due;
  while (std::optional<Entry> e = PopFirstDue(now)) due.push_back(*std::move(e));
  return due;
}

std::optional<DeadlineQueue::Entry> DeadlineQueue::PopFirstDue(absl::Time now) {
  if (heap_.empty() || slots_[heap_[0]].when > now) return std::nullopt;
  Entry e;
  RemoveAt(0, &e);
  return e;
}

std::optional<absl::Time> DeadlineQueue::Next() const {
  if (heap_.empty()) return std::nullopt;
  return slots_[heap_[0]].when;
}

}  // namespace sserpc::server_internal
