#include "proto/sse.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sserpc {
namespace {

// The position of the first CR or LF in `s` at or after `from`, or npos.
// Two memchr() scans: absl's find_first_of builds a 256-entry table on
// every call, which showed in profiles of the event path.
size_t FindLineBreak(absl::string_view s, size_t from) {
  if (from >= s.size()) return absl::string_view::npos;
  const char* begin = s.data() + from;
  const size_t n = s.size() - from;
  const void* lf = std::memchr(begin, '\n', n);
  const size_t before_lf =
      lf == nullptr ? n : static_cast<size_t>(static_cast<const char*>(lf) - begin);
  const void* cr = std::memchr(begin, '\r', before_lf);
  if (cr != nullptr) {
    return from + static_cast<size_t>(static_cast<const char*>(cr) - begin);
  }
  return lf == nullptr ? absl::string_view::npos : from + before_lf;
}

}  // namespace

void AppendSseEvent(absl::string_view event, absl::string_view data,
                    uint64_t id, std::string* out) {
  if (id != 0) absl::StrAppend(out, "id: ", id, "\n");
  if (!event.empty()) absl::StrAppend(out, "event: ", event, "\n");
  size_t start = 0;
  while (true) {
    size_t end = FindLineBreak(data, start);
    absl::string_view line = data.substr(
        start, end == absl::string_view::npos ? absl::string_view::npos
                                              : end - start);
    out->append("data: ");
    out->append(line.data(), line.size());
    out->push_back('\n');
    if (end == absl::string_view::npos) break;
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') {
      ++start;
    }
  }
  out->push_back('\n');
}

void AppendSseRetry(int64_t ms, std::string* out) {
  absl::StrAppend(out, "retry: ", ms, "\n\n");
}

void AppendSseComment(absl::string_view text, std::string* out) {
  absl::StrAppend(out, ":", text, "\n\n");
}

SseParser::SseParser(Callbacks callbacks, size_t max_event_bytes)
    : callbacks_(std::move(callbacks)), max_event_bytes_(max_event_bytes) {}

void SseParser::Reset() {
  line_.clear();
  skip_next_lf_ = false;
  data_.clear();
  has_data_ = false;
  event_.clear();
  id_buffer_ = last_event_id_;
}

absl::Status SseParser::Feed(absl::string_view chunk) {
  size_t i = 0;
  if (skip_next_lf_ && !chunk.empty()) {
    skip_next_lf_ = false;
    if (chunk[0] == '\n') i = 1;
  }
  while (i < chunk.size()) {
    size_t end = FindLineBreak(chunk, i);
    if (end == absl::string_view::npos) {
      line_.append(chunk.data() + i, chunk.size() - i);
      if (line_.size() + data_.size() > max_event_bytes_) {
        return absl::ResourceExhaustedError("SSE event exceeds size limit");
      }
      return absl::OkStatus();
    }
    absl::string_view line = chunk.substr(i, end - i);
    if (!line_.empty()) {
      line_.append(line.data(), line.size());
      line = line_;
    }
    if (line.size() + data_.size() > max_event_bytes_) {
      return absl::ResourceExhaustedError("SSE event exceeds size limit");
    }
    ProcessLine(line);
    line_.clear();
    i = end + 1;
    if (chunk[end] == '\r') {
      if (i < chunk.size()) {
        if (chunk[i] == '\n') ++i;
      } else {
        skip_next_lf_ = true;
      }
    }
  }
  return absl::OkStatus();
}

void SseParser::ProcessLine(absl::string_view line) {
  if (line.empty()) {
    Dispatch();
    return;
  }
  if (line[0] == ':') return;  // comment
  absl::string_view field = line;
  absl::string_view value;
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value.data(), value.size());
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value.data(), value.size());
  } else if (field == "id") {
    if (value.find('\0') == absl::string_view::npos) {
      id_buffer_.assign(value.data(), value.size());
    }
  } else if (field == "retry") {
    int64_t ms;
    bool digits = !value.empty();
    for (char c : value) digits = digits && absl::ascii_isdigit(c);
    if (digits && absl::SimpleAtoi(value, &ms) && callbacks_.on_retry) {
      callbacks_.on_retry(ms);
    }
  }
  // Other fields are ignored, as the SSE format requires.
}

void SseParser::Dispatch() {
  last_event_id_ = id_buffer_;
  if (!has_data_) {
    event_.clear();
    return;
  }
  scratch_.event = event_.empty() ? "message" : event_;
  scratch_.data.swap(data_);
  scratch_.id = last_event_id_;
  data_.clear();
  has_data_ = false;
  event_.clear();
  if (callbacks_.on_event) callbacks_.on_event(scratch_);
}

}  // namespace sserpc
