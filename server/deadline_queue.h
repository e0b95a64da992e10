#ifndef SSERPC_SERVER_DEADLINE_QUEUE_H_
#define SSERPC_SERVER_DEADLINE_QUEUE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sserpc::server_internal {

// Ordered timers, driven from outside: the owner asks PopDue(now) and acts on
// what is returned, so tests step time by hand. Entries can be removed in
// O(log n) through the handle Add() returned. Not thread-safe: the owner's
// lock guards it.
//
// A binary min-heap of slot numbers over a table of slots. A server adds and
// removes one entry per call, under its lock: the slots (and their keys'
// buffers) of removed entries are reused, so that costs no allocation, and
// a new deadline later than all others (the usual case: calls with the same
// timeout come in deadline order) goes in without moving any other.
class DeadlineQueue {
 public:
  enum class Kind { kCall, kSessionGrace };
  struct Entry {
    Kind kind;
    std::string key;     // call id or client id
    uint64_t stamp = 0;  // for kSessionGrace: the disconnect it belongs to
  };
  // Names an entry while it is queued. Once the entry is removed or popped,
  // the handle must not be used: the queue may give it to a new entry.
  class Handle {
   public:
    Handle() = default;  // end(): no entry
    friend bool operator==(Handle a, Handle b) { return a.slot_ == b.slot_; }
    friend bool operator!=(Handle a, Handle b) { return a.slot_ != b.slot_; }

   private:
    friend class DeadlineQueue;
    explicit Handle(uint32_t slot) : slot_(slot) {}
    uint32_t slot_ = UINT32_MAX;
  };

  // Slots kept for reuse once the queue is empty; while entries are queued
  // the table keeps its largest size.
  static constexpr size_t kMaxSpareSlots = 1024;

  Handle Add(absl::Time when, Entry entry);
  // The same, copying `key` into a reused slot's buffer when there is one.
  Handle Add(absl::Time when, Kind kind, absl::string_view key,
             uint64_t stamp = 0);
  void Remove(Handle handle);
  static Handle end() { return Handle(); }

  // Removes and returns every entry due at or before `now`, earliest first
  // (entries with the same deadline in the order they were added).
  std::vector<Entry> PopDue(absl::Time now);

  // Removes and returns the earliest entry if it is due at or before `now`.
  // Popping one at a time lets the owner act on each entry while the handles
  // of the entries still queued stay valid.
  std::optional<Entry> PopFirstDue(absl::Time now);

  // The earliest deadline, if any.
  std::optional<absl::Time> Next() const;

  size_t size() const { return heap_.size(); }
  // Slots not in use, kept for reuse.
  size_t spare_slots() const { return free_.size(); }

 private:
  struct Slot {
    absl::Time when;
    uint64_t seq = 0;       // order of Add(), for equal deadlines
    uint32_t heap_pos = 0;  // where heap_ holds this slot
    Entry entry;
  };
  // Slot a comes out before slot b.
  bool Before(uint32_t a, uint32_t b) const {
    const Slot& x = slots_[a];
    const Slot& y = slots_[b];
    return x.when < y.when || (x.when == y.when && x.seq < y.seq);
  }
  void Place(size_t pos, uint32_t slot) {
    heap_[pos] = slot;
    slots_[slot].heap_pos = static_cast<uint32_t>(pos);
  }
  void SiftUp(size_t pos);
  void SiftDown(size_t pos);
  // Takes heap_[pos] out of the heap and frees its slot (keeping its key's
  // buffer when `entry_out` is null, else moving the entry there).
  void RemoveAt(size_t pos, Entry* entry_out);

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;  // slot numbers not in use
  std::vector<uint32_t> heap_;  // slot numbers, earliest first at [0]
  uint64_t next_seq_ = 0;
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_DEADLINE_QUEUE_H_
