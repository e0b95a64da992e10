#ifndef SSERPC_TESTS_SERVER_DISPATCHER_TEST_UTIL_H_
#define SSERPC_TESTS_SERVER_DISPATCHER_TEST_UTIL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/envelope.h"
#include "proto/sse.h"
#include "server/call.h"
#include "server/dispatcher.h"
#include "server/options.h"
#include "tests/testing/fake_clock.h"

// Shared by the dispatcher tests: a recorder for call outcomes and a reader
// that turns what NextWrite() produced into parsed events.
namespace sserpc::server_internal::test {

inline constexpr char kMethod[] = "pkg.Service/Method";

// What a call's callback saw. Single-threaded tests only.
struct Outcome {
  int runs = 0;
  CallResult result = absl::UnknownError("callback never ran");

  bool done() const { return runs > 0; }
  absl::StatusCode code() const { return result.status().code(); }
};

inline CallCallback Record(Outcome* o) {
  return [o](CallResult r) {
    ++o->runs;
    o->result = std::move(r);
  };
}

inline CallOptions Opts(absl::Duration timeout = absl::Seconds(30),
                        bool wait_for_client = false) {
  CallOptions o;
  o.timeout = timeout;
  o.wait_for_client = wait_for_client;
  return o;
}

inline ReplyEnvelope PayloadReply(std::string call_id, std::string payload) {
  ReplyEnvelope r;
  r.call_id = std::move(call_id);
  r.payload = std::move(payload);
  return r;
}

inline ReplyEnvelope ErrorReply(std::string call_id, absl::Status error) {
  ReplyEnvelope r;
  r.call_id = std::move(call_id);
  r.error = std::move(error);
  return r;
}

// One NextWrite(), parsed.
struct Written {
  Dispatcher::WriteStatus status = Dispatcher::WriteStatus::kIdle;
  std::string raw;
  std::vector<SseEvent> events;
  std::vector<int64_t> retries;

  std::vector<SseEvent> Named(const std::string& name) const {
    std::vector<SseEvent> out;
    for (const SseEvent& e : events) {
      if (e.event == name) out.push_back(e);
    }
    return out;
  }

  std::vector<RequestEnvelope> Requests() const {
    std::vector<RequestEnvelope> out;
    for (const SseEvent& e : Named("request")) {
      absl::StatusOr<RequestEnvelope> r = ParseRequestData(e.data);
      EXPECT_TRUE(r.ok()) << r.status() << " in " << e.data;
      if (r.ok()) out.push_back(*std::move(r));
    }
    return out;
  }

  std::vector<std::string> RequestCallIds() const {
    std::vector<std::string> out;
    for (const RequestEnvelope& r : Requests()) out.push_back(r.call_id);
    return out;
  }

  // The `id:` of every request event, in stream order.
  std::vector<uint64_t> RequestEventIds() const {
    std::vector<uint64_t> out;
    for (const SseEvent& e : Named("request")) {
      uint64_t id = 0;
      EXPECT_TRUE(absl::SimpleAtoi(e.id, &id)) << "bad id \"" << e.id << "\"";
      out.push_back(id);
    }
    return out;
  }

  std::vector<CancelEnvelope> Cancels() const {
    std::vector<CancelEnvelope> out;
    for (const SseEvent& e : Named("cancel")) {
      absl::StatusOr<CancelEnvelope> c = ParseCancelData(e.data);
      EXPECT_TRUE(c.ok()) << c.status() << " in " << e.data;
      if (c.ok()) out.push_back(*std::move(c));
    }
    return out;
  }

  // The status an `event: close` carried, if there was one.
  std::optional<absl::Status> Close() const {
    std::vector<SseEvent> closes = Named("close");
    if (closes.empty()) return std::nullopt;
    EXPECT_EQ(closes.size(), 1u);
    return ParseErrorBody(closes[0].data, absl::StatusCode::kUnknown);
  }
};

// Parses what one NextWrite() appended.
inline Written Parse(Dispatcher::WriteStatus status, std::string raw) {
  Written w;
  w.status = status;
  w.raw = std::move(raw);
  SseParser parser({[&w](const SseEvent& e) { w.events.push_back(e); },
                    [&w](int64_t ms) { w.retries.push_back(ms); }},
                   1 << 24);
  absl::Status s = parser.Feed(w.raw);
  EXPECT_TRUE(s.ok()) << s;
  return w;
}

// Whatever would go down `stream` now, without waiting.
inline Written ReadNow(Dispatcher& d, StreamState& stream) {
  std::string raw;
  Dispatcher::WriteStatus status =
      d.NextWrite(stream, absl::ZeroDuration(), &raw);
  return Parse(status, std::move(raw));
}

// Options small enough to reason about; tests change what they need.
inline ServerOptions TestOptions() {
  ServerOptions o;
  o.heartbeat = absl::Seconds(15);
  o.retry_hint = absl::Seconds(1);
  o.resume_grace = absl::Seconds(30);
  return o;
}

// A dispatcher on a fake clock, built on first use so a test may change
// `options_` before that.
class DispatcherTest : public ::testing::Test {
 protected:
  // Ends what is still pending while every fixture member is alive.
  void TearDown() override {
    if (dispatcher_ != nullptr) dispatcher_->Shutdown();
  }

  Dispatcher& d() {
    if (dispatcher_ == nullptr) {
      dispatcher_ = std::make_unique<Dispatcher>(options_, &clock_);
    }
    return *dispatcher_;
  }

  // Opens a stream and drains its preamble. nullptr (with a failure) if the
  // dispatcher refused.
  std::shared_ptr<StreamState> Connect(
      const std::string& client_id,
      std::optional<uint64_t> last_event_id = std::nullopt) {
    absl::StatusOr<std::shared_ptr<StreamState>> s =
        d().OpenStream(client_id, last_event_id);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return nullptr;
    return *s;
  }

  std::string Start(const std::string& client_id, Outcome* outcome,
                    CallOptions options = Opts(), std::string payload = "{}") {
    return d().StartCall(client_id, kMethod, std::move(payload), options,
                         Record(outcome));
  }

  void AdvanceAndExpire(absl::Duration by) {
    clock_.Advance(by);
    d().ExpireDue();
  }

  std::optional<ClientInfo> Info(const std::string& client_id) {
    for (ClientInfo& info : d().ListClients()) {
      if (info.client_id == client_id) return info;
    }
    return std::nullopt;
  }

  // Outcomes live as long as the fixture: the dispatcher, destroyed first,
  // fails what is still pending into them.
  Outcome* NewOutcome() { return &outcomes_.emplace_back(); }

  sserpc::testing::FakeClock clock_;
  ServerOptions options_ = TestOptions();
  std::deque<Outcome> outcomes_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace sserpc::server_internal::test

#endif  // SSERPC_TESTS_SERVER_DISPATCHER_TEST_UTIL_H_
