#ifndef SSERPC_SERVER_DEADLINE_QUEUE_H_
#define SSERPC_SERVER_DEADLINE_QUEUE_H_

#include <cstdint>
#include <map>
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
// The queue keeps up to kMaxSpareNodes nodes of removed entries and reuses
// them (and their key's buffer) for new ones: a server adds and removes one
// per call, under its lock, and would otherwise allocate and free twice for
// each.
class DeadlineQueue {
 public:
  enum class Kind { kCall, kSessionGrace };
  struct Entry {
    Kind kind;
    std::string key;     // call id or client id
    uint64_t stamp = 0;  // for kSessionGrace: the disconnect it belongs to
  };
  using Handle = std::multimap<absl::Time, Entry>::iterator;

  static constexpr size_t kMaxSpareNodes = 1024;

  Handle Add(absl::Time when, Entry entry);
  // The same, copying `key` into a reused node's buffer when there is one.
  Handle Add(absl::Time when, Kind kind, absl::string_view key,
             uint64_t stamp = 0);
  void Remove(Handle handle);
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
  // Nodes kept for reuse (at most kMaxSpareNodes).
  size_t spare_nodes() const { return spare_.size(); }

 private:
  using Map = std::multimap<absl::Time, Entry>;
  // Keeps the node of an entry taken out of entries_, if there is room.
  void Recycle(Map::node_type node);

  Map entries_;
  std::vector<Map::node_type> spare_;
};

}  // namespace sserpc::server_internal

#endif  // SSERPC_SERVER_DEADLINE_QUEUE_H_
