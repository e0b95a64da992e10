// Direct writes: while a stream's writer is parked in NextWrite, the thread
// that queued events sends them through the stream's DirectSender, and the
// writer is woken only when it has work (see StreamState).
#include <algorithm>
#include <deque>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "proto/sync.h"
#include "server/dispatcher.h"
#include "tests/server/dispatcher_test_util.h"

namespace sserpc::server_internal::test {
namespace {

using WriteStatus = Dispatcher::WriteStatus;

// Takes up to `room` bytes and keeps the rest, as a full socket would; can
// hold a sender inside SendNow() until released.
class FakeSender final : public DirectSender {
 public:
  explicit FakeSender(size_t room = SIZE_MAX) : room_(room) {}

  void SendNow(absl::string_view events) override {
    MutexLock lock(&mu_);
    ++sends_;
    entered_ = true;
    mu_.Await(Condition(&released_));
    const size_t take = std::min(events.size(), room_);
    room_ -= take;
    sent_.append(events.data(), take);
    kept_.append(events.data() + take, events.size() - take);
  }
  bool needs_writer() const override {
    MutexLock lock(&mu_);
    return !kept_.empty();
  }

  void Hold() {
    MutexLock lock(&mu_);
    released_ = false;
  }
  void Release() {
    MutexLock lock(&mu_);
    released_ = true;
  }
  bool entered() {
    MutexLock lock(&mu_);
    return entered_;
  }
  int sends() {
    MutexLock lock(&mu_);
    return sends_;
  }
  Written Sent() {
    MutexLock lock(&mu_);
    return Parse(WriteStatus::kData, sent_);
  }

 private:
  mutable Mutex mu_;
  size_t room_;
  bool released_ = true;
  bool entered_ = false;
  int sends_ = 0;
  std::string sent_;
  std::string kept_;
};

// NextWrite on a thread of its own, as the HTTP layer's writer runs it.
class WriterThread {
 public:
  WriterThread(Dispatcher& d, StreamState& s, absl::Duration idle,
               absl::Duration busy)
      : d_(d), thread_([this, &d, &s, idle, busy] {
          status_ = d.NextWrite(s, idle, busy, &out_);
          returned_.Notify();
        }) {}
  // Shutdown() ends a wait the test did not (after a failed expectation).
  ~WriterThread() {
    d_.Shutdown();
    thread_.join();
  }

  // Bounded only so that a broken build fails instead of hanging.
  bool WaitReturned() {
    return returned_.WaitForNotificationWithTimeout(absl::Seconds(10));
  }
  bool returned() const { return returned_.HasBeenNotified(); }
  WriteStatus status() const { return status_; }
  const std::string& out() const { return out_; }

 private:
  WriteStatus status_ = WriteStatus::kIdle;
  std::string out_;
  Notification returned_;
  Dispatcher& d_;
  std::thread thread_;
};

// Polls a condition another thread makes true; false after 10 s.
template <typename F>
bool Eventually(F f) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!f()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Microseconds(200));
  }
  return true;
}

class DirectWriteTest : public DispatcherTest {
 protected:
  // A stream with its preamble read and `sender` attached.
  std::shared_ptr<StreamState> ConnectDirect(const std::string& client_id,
                                             DirectSender* sender) {
    std::shared_ptr<StreamState> s = Connect(client_id);
    if (s == nullptr) return nullptr;
    d().SetDirectSender(*s, sender);
    ReadNow(d(), *s);
    return s;
  }

  // Senders outlive the dispatcher's last use of them (TearDown).
  FakeSender& NewSender(size_t room = SIZE_MAX) {
    return senders_.emplace_back(room);
  }

  // Client "c1"'s stream (s_) with a sender (sender_) taking `room` bytes,
  // and its writer (writer_) parked in NextWrite, waiting the long time
  // while no call is pending and `busy` while one is.
  bool ParkWriter(absl::Duration busy, size_t room = SIZE_MAX) {
    sender_ = &NewSender(room);
    s_ = ConnectDirect("c1", sender_);
    if (s_ == nullptr) return false;
    writer_ = std::make_unique<WriterThread>(d(), *s_, absl::InfiniteDuration(),
                                             busy);
    return Eventually([&] { return d().writer_parked(*s_); });
  }

  std::deque<FakeSender> senders_;
  FakeSender* sender_ = nullptr;
  std::shared_ptr<StreamState> s_;
  std::unique_ptr<WriterThread> writer_;  // ended before the senders go
};

TEST_F(DirectWriteTest, RequestGoesOutThroughTheSenderAndTheWriterStaysParked) {
  ASSERT_TRUE(ParkWriter(absl::InfiniteDuration()));

  Outcome& out = *NewOutcome();
  const std::string id = Start("c1", &out);
  ASSERT_FALSE(id.empty());
  // Sent before StartCall returned, by this thread.
  EXPECT_EQ(sender_->sends(), 1);
  Written w = sender_->Sent();
  ASSERT_EQ(w.Requests().size(), 1u);
  EXPECT_EQ(w.Requests()[0].call_id, id);
  EXPECT_EQ(w.RequestEventIds(), std::vector<uint64_t>{1});
  EXPECT_TRUE(d().writer_parked(*s_));
  EXPECT_FALSE(writer_->returned());

  d().Shutdown();
  ASSERT_TRUE(writer_->WaitReturned());
  EXPECT_EQ(writer_->status(), WriteStatus::kClosed);
}

TEST_F(DirectWriteTest, CallsStartedByOneBatchOfAnswersGoOutInOneSend) {
  ASSERT_TRUE(ParkWriter(absl::InfiniteDuration()));

  Outcome& first = *NewOutcome();
  Outcome& second = *NewOutcome();
  Outcome& third = *NewOutcome();
  std::string second_id, third_id;
  const std::string id = d().StartCall(
      "c1", kMethod, "{}", Opts(), [&](CallResult r) {
        Record(&first)(std::move(r));
        second_id = Start("c1", &second);
        third_id = Start("c1", &third);
      });
  ASSERT_EQ(sender_->sends(), 1);
  ASSERT_TRUE(d().DeliverReply("c1", PayloadReply(id, "1")).ok());
  ASSERT_EQ(first.runs, 1);
  // Both requests in one send, after the completion.
  EXPECT_EQ(sender_->sends(), 2);
  Written w = sender_->Sent();
  EXPECT_EQ(w.RequestCallIds(),
            (std::vector<std::string>{id, second_id, third_id}));
  EXPECT_FALSE(writer_->returned());

  d().Shutdown();
  ASSERT_TRUE(writer_->WaitReturned());
}

TEST_F(DirectWriteTest, WithoutAParkedWriterTheWriterSendsTheRequest) {
  FakeSender& sender = NewSender();
  std::shared_ptr<StreamState> s = ConnectDirect("c1", &sender);
  ASSERT_TRUE(s);
  Outcome& out = *NewOutcome();
  const std::string id = Start("c1", &out);
  EXPECT_EQ(sender.sends(), 0);
  Written w = ReadNow(d(), *s);
  EXPECT_EQ(w.RequestCallIds(), std::vector<std::string>{id});
}

TEST_F(DirectWriteTest, WithoutASenderTheParkedWriterIsWoken) {
  std::shared_ptr<StreamState> s = Connect("c1");
  ASSERT_TRUE(s);
  ReadNow(d(), *s);
  WriterThread writer(d(), *s, absl::InfiniteDuration(),
                      absl::InfiniteDuration());
  ASSERT_TRUE(Eventually([&] { return d().writer_parked(*s); }));
  Outcome& out = *NewOutcome();
  const std::string id = Start("c1", &out);
  ASSERT_TRUE(writer.WaitReturned());
  EXPECT_EQ(writer.status(), WriteStatus::kData);
  EXPECT_EQ(Parse(WriteStatus::kData, writer.out()).RequestCallIds(),
            std::vector<std::string>{id});
}

TEST_F(DirectWriteTest, BytesTheSocketDidNotTakeWakeTheWriter) {
  ASSERT_TRUE(ParkWriter(absl::InfiniteDuration(), 10));
  Outcome& out = *NewOutcome();
  Start("c1", &out);
  EXPECT_EQ(sender_->sends(), 1);
  // The writer returns with nothing of its own: what it must send first is
  // the sender's.
  ASSERT_TRUE(writer_->WaitReturned());
  EXPECT_EQ(writer_->status(), WriteStatus::kData);
  EXPECT_EQ(writer_->out(), "");
  // While those bytes wait, nothing more goes around them.
  Outcome& next = *NewOutcome();
  Start("c1", &next);
  EXPECT_EQ(sender_->sends(), 1);
}

TEST_F(DirectWriteTest, WriterWaitingTheIdleTimeLearnsThatCallsArePending) {
  // With no call pending the writer waits the long time; once a call waits
  // for this client it must look at its connection after the short one,
  // though the request went out without it.
  ASSERT_TRUE(ParkWriter(absl::Milliseconds(1)));
  Outcome& out = *NewOutcome();
  Start("c1", &out);
  EXPECT_EQ(sender_->sends(), 1);
  ASSERT_TRUE(writer_->WaitReturned());
  EXPECT_EQ(writer_->status(), WriteStatus::kIdle);
}

TEST_F(DirectWriteTest, WriterWaitsForADirectWriteBeforeItCloses) {
  ASSERT_TRUE(ParkWriter(absl::InfiniteDuration()));
  sender_->Hold();
  std::atomic<int> runs{0};
  std::thread starter([&] {
    d().StartCall("c1", kMethod, "{}", Opts(),
                  [&](CallResult) { runs.fetch_add(1); });
  });
  ASSERT_TRUE(Eventually([&] { return sender_->entered(); }));
  // The connection is in use by the starter: the writer must not write
  // `event: close` (or let the connection go) until it is done.
  std::thread stopper([&] { d().Shutdown(); });
  ASSERT_TRUE(Eventually([&] { return d().writer_waits_for_turn(*s_); }));
  EXPECT_FALSE(writer_->returned());
  sender_->Release();
  ASSERT_TRUE(writer_->WaitReturned());
  EXPECT_EQ(writer_->status(), WriteStatus::kClosed);
  starter.join();
  stopper.join();
  EXPECT_EQ(runs.load(), 1);
}

TEST_F(DirectWriteTest, EventsQueuedDuringADirectWriteGoToTheWriter) {
  ASSERT_TRUE(ParkWriter(absl::InfiniteDuration()));
  sender_->Hold();
  Outcome& first = *NewOutcome();
  std::thread starter([&] { Start("c1", &first); });
  ASSERT_TRUE(Eventually([&] { return sender_->entered(); }));
  // The connection is busy: this request is left to whoever holds it.
  Outcome& second = *NewOutcome();
  const std::string second_id = Start("c1", &second);
  EXPECT_FALSE(writer_->returned());
  sender_->Release();
  starter.join();
  // That thread sent one batch and handed the rest to the writer_->
  ASSERT_TRUE(writer_->WaitReturned());
  EXPECT_EQ(writer_->status(), WriteStatus::kData);
  EXPECT_EQ(Parse(WriteStatus::kData, writer_->out()).RequestCallIds(),
            std::vector<std::string>{second_id});
  EXPECT_EQ(sender_->sends(), 1);
}

// "bytes" -> {"b":"bytes"}; "untranscodable" cannot be.
class FakeTranscoder : public RequestTranscoder {
 public:
  absl::StatusOr<std::string> ToJson(absl::string_view bytes) const override {
    if (bytes == "untranscodable") {
      return absl::InvalidArgumentError("unknown Any type");
    }
    return absl::StrCat(R"({"b":")", bytes, R"("})");
  }
};

TEST_F(DirectWriteTest, TypedRequestsForAJsonClientAreLeftToTheWriter) {
  // Converting them may be slow, and one that cannot be converted ends its
  // call: neither happens inside the caller's StartProtoCall.
  FakeTranscoder transcoder;
  ASSERT_TRUE(ParkWriter(absl::InfiniteDuration()));
  std::atomic<int> runs{0};
  absl::Status status;
  d().StartProtoCall("c1", kMethod, "untranscodable", transcoder, Opts(),
                     [&](RawCallResult r) {
                       status = r.status();
                       runs.fetch_add(1);
                     });
  EXPECT_EQ(sender_->sends(), 0);
  // The writer ends that call (INTERNAL) and the client hears nothing of it.
  ASSERT_TRUE(writer_->WaitReturned());
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(absl::StrContains(status.message(), "unknown Any type"));
  EXPECT_TRUE(Parse(WriteStatus::kData, writer_->out()).events.empty());
}

TEST_F(DirectWriteTest, TypedRequestsForAProtobufClientGoOutDirectly) {
  FakeSender& sender = NewSender();
  FakeTranscoder transcoder;
  absl::StatusOr<std::shared_ptr<StreamState>> opened =
      d().OpenStream("c1", std::nullopt, /*protobuf_payloads=*/true);
  ASSERT_TRUE(opened.ok());
  std::shared_ptr<StreamState> s = *opened;
  d().SetDirectSender(*s, &sender);
  ReadNow(d(), *s);
  WriterThread writer(d(), *s, absl::InfiniteDuration(),
                      absl::InfiniteDuration());
  ASSERT_TRUE(Eventually([&] { return d().writer_parked(*s); }));
  d().StartProtoCall("c1", kMethod, "bytes", transcoder, Opts(),
                     [](RawCallResult) {});
  EXPECT_EQ(sender.sends(), 1);
  EXPECT_EQ(sender.Sent().Named("request-proto").size(), 1u);
  EXPECT_FALSE(writer.returned());
}

}  // namespace
}  // namespace sserpc::server_internal::test
