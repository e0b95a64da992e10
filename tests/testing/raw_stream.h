#ifndef SSERPC_TESTS_TESTING_RAW_STREAM_H_
#define SSERPC_TESTS_TESTING_RAW_STREAM_H_

#include <httplib.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "proto/sse.h"
#include "proto/sync.h"

namespace sserpc::testing {

// A protocol-level SSE client for tests: opens GET .../events with the given
// headers on its own thread and records every event, so a test can speak the
// wire protocol exactly as another language's client would.
class RawStream {
 public:
  // `query`, when not empty, follows the path after a '?'.
  RawStream(int port, std::string client_id, httplib::Headers headers = {},
            std::string query = "")
      : http_("127.0.0.1", port) {
    http_.set_read_timeout(30, 0);
    thread_ = std::thread([this, client_id, headers, query] {
      SseParser parser({[this](const SseEvent& e) {
                          MutexLock lock(&mu_);
                          events_.push_back(e);
                        },
                        nullptr},
                       1 << 24);
      auto res = http_.Get(
          "/sserpc/v1/clients/" + client_id + "/events" +
              (query.empty() ? "" : "?" + query),
          headers,
          [this](const httplib::Response& r) {
            MutexLock lock(&mu_);
            status_ = r.status;
            response_headers_ = r.headers;
            return true;
          },
          [&](const char* d, size_t n) {
            {
              MutexLock lock(&mu_);
              raw_.append(d, n);
            }
            return parser.Feed(absl::string_view(d, n)).ok();
          });
      MutexLock lock(&mu_);
      ended_ = true;
      if (status_ == 0 && res) status_ = res->status;
      if (res && res->status != 200) raw_ = res->body;
    });
  }
  ~RawStream() { Close(); }

  // Drops the connection (as a client losing its network would).
  void Close() {
    http_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Waits until `n` events whose type is `type` arrived; returns them all.
  std::vector<SseEvent> WaitFor(const std::string& type, size_t n,
                                absl::Duration timeout = absl::Seconds(10)) {
    MutexLock lock(&mu_);
    auto enough = [&] { return Count(type) >= n || ended_; };
    mu_.AwaitWithTimeout(Condition(&enough), timeout);
    std::vector<SseEvent> out;
    for (const SseEvent& e : events_) {
      if (e.event == type) out.push_back(e);
    }
    return out;
  }

  // Waits until the server ends the stream.
  bool WaitEnded(absl::Duration timeout = absl::Seconds(10)) {
    MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(Condition(&ended_), timeout);
  }

  int status() {
    MutexLock lock(&mu_);
    return status_;
  }
  std::string raw() {
    MutexLock lock(&mu_);
    return raw_;
  }
  std::string header(const std::string& name) {
    MutexLock lock(&mu_);
    auto it = response_headers_.find(name);
    return it == response_headers_.end() ? "" : it->second;
  }
  std::vector<SseEvent> events() {
    MutexLock lock(&mu_);
    return events_;
  }

 private:
  size_t Count(const std::string& type) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    size_t n = 0;
    for (const SseEvent& e : events_) n += e.event == type;
    return n;
  }

  httplib::Client http_;
  Mutex mu_;
  std::vector<SseEvent> events_ ABSL_GUARDED_BY(mu_);
  std::string raw_ ABSL_GUARDED_BY(mu_);
  int status_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  httplib::Headers response_headers_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace sserpc::testing

#endif  // SSERPC_TESTS_TESTING_RAW_STREAM_H_
