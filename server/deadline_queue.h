#ifndef SSERPC_SERVER_DEADLINE_QUEUE_H_
#define SSERPC_SERVER_DEADLINE_QUEUE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace sserpc::server_internal {

// Ordered timers, driven from outside: the owner asks PopDue(now) and acts on
// what is returned, so tests step time by hand. Entries can be removed in
// O(log n) through the handle Add() returned. Not thread-safe: the owner's
// lock guards it.
class DeadlineQueue {
 public:
  enum class Kind { kCall, kSessionGrace };
  struct Entry {
    Kind kind;
    std::string key;     // call id or client id
    uint64_t stamp = 0;  // for kSessionGrace: the disconnect it belongs to
  };
  using Handle = std::multimap<absl::Time, Entry>::iterator;

  Handle Add(absl::Time when, Entry entry) {
    return entries_.emplace(when, std::move(entry));
  }
  void Remove(Handle handle) { entries_.erase(handle); }
  Handle end() { return entries_.end(); }

  // Removes and returns every entry due at or before `now`, earliest first.
  std::vector<Entry> PopDue(absl::Time now);

  // Removes and returns the earliest entry if it is due at or before `now`.
  // Popping one at a time lets the owner act on each entry while the handles
  // of the entries still queued stay valid.
  std::optional<Entry> PopFirstDue(absl::Time now);

  // The earliest deadline, if any.
  std::optional<absl::Time> Next() const;

  size_t size() const { return entries_.size(); }

 private:
  std::multimap<absl::Time, Entry> entries_;
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_DEADLINE_QUEUE_H_
