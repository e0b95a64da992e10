#ifndef SSERPC_PROTO_SSE_H_
#define SSERPC_PROTO_SSE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// Server-Sent Events framing (the WHATWG "event stream" format): a writer that
// can never be made to inject a field, and an incremental parser that accepts
// any split of the stream into chunks.
namespace sserpc {

// Appends one event. `data` may hold any bytes: each of its lines (split at
// CRLF, LF or CR) becomes its own `data:` line, so no value can start a new
// field or end the event early. `event` must be a single-line token. `id` 0
// means no id line.
void AppendSseEvent(absl::string_view event, absl::string_view data,
                    uint64_t id, std::string* out);

// Appends `retry: <ms>` as an event of its own.
void AppendSseRetry(int64_t ms, std::string* out);

// Appends a comment line (`:<text>`) and a blank line. `text` must not hold
// line breaks.
void AppendSseComment(absl::string_view text, std::string* out);

struct SseEvent {
  std::string event;  // "message" when the stream gave no event field
  std::string data;   // data lines joined with '\n'
  std::string id;     // last event id in force when the event was dispatched
};

// Incremental parser. Feed() any chunks in order; complete events are handed
// to the callback as they end. Not thread-safe.
class SseParser {
 public:
  struct Callbacks {
    std::function<void(const SseEvent&)> on_event;
    std::function<void(int64_t retry_ms)> on_retry;  // may be empty
  };

  // `max_event_bytes` bounds the memory held for one incomplete event
  // (line plus accumulated data).
  SseParser(Callbacks callbacks, size_t max_event_bytes);

  // Returns RESOURCE_EXHAUSTED once an event grows past the limit; the parser
  // must then be Reset() (the stream is unusable).
  absl::Status Feed(absl::string_view chunk);

  // Forgets any partial line and event (for a new connection). Keeps the last
  // event id, as the SSE reconnection rules require.
  void Reset();

  const std::string& last_event_id() const { return last_event_id_; }

 private:
  void ProcessLine(absl::string_view line);
  void Dispatch();

  Callbacks callbacks_;
  const size_t max_event_bytes_;
  std::string line_;             // incomplete line carried between chunks
  bool skip_next_lf_ = false;    // previous chunk ended with CR
  std::string data_;
  bool has_data_ = false;
  std::string event_;
  // The SSE "last event ID buffer": set by an id field, made the stream's
  // last event id only when its event is dispatched, so an event cut off
  // mid-way never counts as received.
  std::string id_buffer_;
  std::string last_event_id_;
  SseEvent scratch_;
};

}  // namespace sserpc

#endif  // SSERPC_PROTO_SSE_H_
