#include "server/session.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sserpc::server_internal {
namespace {

std::shared_ptr<const OutgoingRequest> Request(std::string call_id,
                                               std::string payload = "{}") {
  auto r = std::make_shared<OutgoingRequest>();
  r->call_id = std::move(call_id);
  r->method = "pkg.Service/Method";
  r->payload = std::move(payload);
  r->deadline = absl::FromUnixSeconds(1700000030);
  return r;
}

OutboxItem RequestItem(uint64_t event_id, std::string call_id,
                       std::string payload = "{}") {
  OutboxItem item;
  item.event_id = event_id;
  item.request = Request(std::move(call_id), std::move(payload));
  return item;
}

OutboxItem CancelItem(std::string call_id) {
  OutboxItem item;
  item.cancel_call_id = std::move(call_id);
  return item;
}

// "r:<call id>:<event id>" for a request, "c:<call id>" for a cancel.
std::vector<std::string> Describe(const OutboxBatch& items) {
  std::vector<std::string> out;
  for (const OutboxItem& i : items) {
    if (i.is_request()) {
      out.push_back("r:" + i.request->call_id + ":" +
                    std::to_string(i.event_id));
    } else {
      out.push_back("c:" + i.cancel_call_id);
    }
  }
  return out;
}

size_t TotalBytes(const OutboxBatch& items) {
  size_t n = 0;
  for (const OutboxItem& i : items) n += i.bytes();
  return n;
}

constexpr size_t kUnlimited = static_cast<size_t>(-1) / 2;

TEST(OutboxItemTest, CostGrowsWithTheContentCarried) {
  EXPECT_GT(RequestItem(1, "call", R"({"a":"0123456789"})").bytes(),
            RequestItem(1, "call", "{}").bytes());
  EXPECT_GT(CancelItem("a-longer-call-id").bytes(), CancelItem("id").bytes());
  EXPECT_GT(CancelItem("").bytes(), 0u);  // framing is never free
}

TEST(SessionTest, NewSessionIsAbsentWithoutStreamOrPendingCalls) {
  Session s("client-1", 1);
  EXPECT_EQ(s.client_id(), "client-1");
  EXPECT_EQ(s.state, SessionState::kAbsent);
  EXPECT_EQ(s.stream, nullptr);
  EXPECT_EQ(s.pending_count(), 0u);
  EXPECT_TRUE(s.outbox_empty());
  EXPECT_EQ(s.outbox_bytes(), 0u);
}

TEST(SessionTest, EventIdsStartAtTheFirstIdAndStrictlyIncrease) {
  Session s("c", 51);
  EXPECT_EQ(s.NextEventId(), 51u);
  EXPECT_EQ(s.NextEventId(), 52u);
  EXPECT_EQ(s.NextEventId(), 53u);
}

TEST(SessionTest, PushQueuesTheItemAndCountsItsBytes) {
  Session s("c", 1);
  s.state = SessionState::kConnected;
  OutboxItem item = RequestItem(1, "a");
  const size_t cost = item.bytes();

  EXPECT_TRUE(s.Push(std::move(item), kUnlimited));

  EXPECT_FALSE(s.outbox_empty());
  EXPECT_EQ(s.outbox_bytes(), cost);
}

TEST(SessionTest, PushAcceptsAnItemThatFillsTheOutboxExactly) {
  Session s("c", 1);
  const size_t cost = RequestItem(1, "a").bytes();

  EXPECT_TRUE(s.Push(RequestItem(1, "a"), 2 * cost));
  EXPECT_TRUE(s.Push(RequestItem(2, "a"), 2 * cost));

  EXPECT_EQ(s.outbox_bytes(), 2 * cost);
}

TEST(SessionTest, PushOverTheLimitIsRefusedAndChangesNothing) {
  Session s("c", 1);
  const size_t cost = RequestItem(1, "a").bytes();
  ASSERT_TRUE(s.Push(RequestItem(1, "a"), 2 * cost - 1));

  EXPECT_FALSE(s.Push(RequestItem(2, "b"), 2 * cost - 1));

  EXPECT_EQ(s.outbox_bytes(), cost);
  EXPECT_EQ(Describe(s.TakeOutbox()), (std::vector<std::string>{"r:a:1"}));
}

TEST(SessionTest, PushOfAnItemLargerThanTheLimitIsRefusedOnAnEmptyOutbox) {
  Session s("c", 1);
  OutboxItem big = RequestItem(1, "a", R"({"k":"0123456789"})");
  const size_t limit = big.bytes() - 1;

  EXPECT_FALSE(s.Push(std::move(big), limit));

  EXPECT_TRUE(s.outbox_empty());
  EXPECT_EQ(s.outbox_bytes(), 0u);
}

TEST(SessionTest, PushCancelWhileConnectedKeepsEveryCancel) {
  Session s("c", 1);
  s.state = SessionState::kConnected;

  for (int i = 0; i < 5; ++i) {
    s.PushCancel("x" + std::to_string(i), absl::StatusCode::kCancelled,
                 /*max_retained=*/2);
  }

  EXPECT_EQ(Describe(s.TakeOutbox()),
            (std::vector<std::string>{"c:x0", "c:x1", "c:x2", "c:x3", "c:x4"}));
}

TEST(SessionTest, PushCancelCarriesCallIdAndCode) {
  Session s("c", 1);
  s.state = SessionState::kConnected;

  s.PushCancel("call-1", absl::StatusCode::kDeadlineExceeded, 10);

  OutboxBatch out = s.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].is_request());
  EXPECT_EQ(out[0].cancel_call_id, "call-1");
  EXPECT_EQ(out[0].cancel_code, absl::StatusCode::kDeadlineExceeded);
}

TEST(SessionTest, PushCancelWhileDisconnectedKeepsTheNewestMaxRetained) {
  for (SessionState state : {SessionState::kGrace, SessionState::kAbsent}) {
    Session s("c", 1);
    s.state = state;

    for (int i = 0; i < 5; ++i) {
      s.PushCancel("x" + std::to_string(i), absl::StatusCode::kCancelled,
                   /*max_retained=*/3);
    }

    OutboxBatch kept = s.TakeOutbox();
    EXPECT_EQ(Describe(kept),
              (std::vector<std::string>{"c:x2", "c:x3", "c:x4"}));
  }
}

TEST(SessionTest, PushCancelWhileDisconnectedKeepsOutboxBytesExact) {
  Session s("c", 1);
  s.state = SessionState::kGrace;

  s.PushCancel("short", absl::StatusCode::kCancelled, 2);
  s.PushCancel("a-much-longer-call-id", absl::StatusCode::kCancelled, 2);
  s.PushCancel("mid-length", absl::StatusCode::kCancelled, 2);

  const size_t bytes = s.outbox_bytes();
  OutboxBatch kept = s.TakeOutbox();
  EXPECT_EQ(Describe(kept), (std::vector<std::string>{"c:a-much-longer-call-id",
                                                      "c:mid-length"}));
  EXPECT_EQ(bytes, TotalBytes(kept));
}

TEST(SessionTest, PushCancelWithNothingRetainedKeepsNothingWhileDisconnected) {
  Session s("c", 1);
  s.state = SessionState::kGrace;

  s.PushCancel("a", absl::StatusCode::kCancelled, /*max_retained=*/0);

  EXPECT_TRUE(s.outbox_empty());
  EXPECT_EQ(s.outbox_bytes(), 0u);
}

TEST(SessionTest, TakeOutboxReturnsEverythingInOrderAndLeavesItEmpty) {
  Session s("c", 1);
  s.state = SessionState::kConnected;
  ASSERT_TRUE(s.Push(RequestItem(1, "a"), kUnlimited));
  s.PushCancel("z", absl::StatusCode::kCancelled, 10);
  ASSERT_TRUE(s.Push(RequestItem(2, "b"), kUnlimited));

  EXPECT_EQ(Describe(s.TakeOutbox()),
            (std::vector<std::string>{"r:a:1", "c:z", "r:b:2"}));
  EXPECT_TRUE(s.outbox_empty());
  EXPECT_EQ(s.outbox_bytes(), 0u);
  EXPECT_TRUE(s.TakeOutbox().empty());
}

TEST(SessionTest, DropQueuedRequestsKeepsCancelsInOrderAndRecountsBytes) {
  Session s("c", 1);
  s.state = SessionState::kConnected;
  ASSERT_TRUE(s.Push(RequestItem(1, "a"), kUnlimited));
  s.PushCancel("x", absl::StatusCode::kCancelled, 10);
  ASSERT_TRUE(s.Push(RequestItem(2, "b"), kUnlimited));
  s.PushCancel("y", absl::StatusCode::kDeadlineExceeded, 10);

  s.DropQueuedRequests();

  const size_t bytes = s.outbox_bytes();
  OutboxBatch kept = s.TakeOutbox();
  EXPECT_EQ(Describe(kept), (std::vector<std::string>{"c:x", "c:y"}));
  EXPECT_EQ(bytes, TotalBytes(kept));
}

TEST(SessionTest, DropQueuedRequestsDoesNotTouchPendingRequests) {
  Session s("c", 1);
  s.AddPending(1, Request("a"));
  ASSERT_TRUE(s.Push(RequestItem(1, "a"), kUnlimited));

  s.DropQueuedRequests();

  EXPECT_TRUE(s.outbox_empty());
  EXPECT_EQ(s.pending_count(), 1u);
}

TEST(SessionTest, PendingCallIdsAreInEventIdOrder) {
  Session s("c", 1);
  s.AddPending(3, Request("third"));
  s.AddPending(1, Request("first"));
  s.AddPending(2, Request("second"));

  EXPECT_EQ(s.PendingCallIds(),
            (std::vector<std::string>{"first", "second", "third"}));

  s.RemovePending(2);
  EXPECT_EQ(s.pending_count(), 2u);
  EXPECT_EQ(s.PendingCallIds(), (std::vector<std::string>{"first", "third"}));
}

TEST(SessionTest, RemovePendingOfAnUnknownEventIdChangesNothing) {
  Session s("c", 1);
  s.AddPending(1, Request("a"));
  s.RemovePending(99);
  EXPECT_EQ(s.pending_count(), 1u);
}

TEST(SessionTest, QueueResumeWithoutLastEventIdQueuesAllPendingOldestFirst) {
  Session s("c", 1);
  s.AddPending(7, Request("c7"));
  s.AddPending(2, Request("c2"));
  s.AddPending(5, Request("c5"));

  s.QueueResume(std::nullopt);

  EXPECT_EQ(Describe(s.TakeOutbox()),
            (std::vector<std::string>{"r:c2:2", "r:c5:5", "r:c7:7"}));
}

TEST(SessionTest, QueueResumeWithLastEventIdQueuesOnlyLaterRequests) {
  Session s("c", 1);
  s.AddPending(2, Request("c2"));
  s.AddPending(5, Request("c5"));
  s.AddPending(7, Request("c7"));

  s.QueueResume(5);  // the client has seen 5 and everything before it

  EXPECT_EQ(Describe(s.TakeOutbox()), (std::vector<std::string>{"r:c7:7"}));
}

TEST(SessionTest, QueueResumeWithLastEventIdBetweenPendingIds) {
  Session s("c", 1);
  s.AddPending(2, Request("c2"));
  s.AddPending(5, Request("c5"));
  s.AddPending(7, Request("c7"));

  s.QueueResume(3);

  EXPECT_EQ(Describe(s.TakeOutbox()),
            (std::vector<std::string>{"r:c5:5", "r:c7:7"}));
}

TEST(SessionTest, QueueResumeWithLastEventIdPastEverythingQueuesNothing) {
  Session s("c", 1);
  s.AddPending(2, Request("c2"));

  s.QueueResume(2);
  EXPECT_TRUE(s.outbox_empty());

  s.QueueResume(1000);
  EXPECT_TRUE(s.outbox_empty());
}

TEST(SessionTest, QueueResumeWithLastEventIdZeroQueuesEverything) {
  Session s("c", 1);
  s.AddPending(1, Request("c1"));
  s.AddPending(2, Request("c2"));

  s.QueueResume(0);

  EXPECT_EQ(Describe(s.TakeOutbox()),
            (std::vector<std::string>{"r:c1:1", "r:c2:2"}));
}

TEST(SessionTest, QueueResumePutsRequestsAfterRetainedCancels) {
  Session s("c", 1);
  s.state = SessionState::kGrace;
  s.AddPending(1, Request("c1"));
  s.PushCancel("gone", absl::StatusCode::kDeadlineExceeded, 10);

  s.state = SessionState::kConnected;
  s.QueueResume(std::nullopt);

  EXPECT_EQ(Describe(s.TakeOutbox()),
            (std::vector<std::string>{"c:gone", "r:c1:1"}));
}

TEST(SessionTest, QueueResumeSharesTheRequestAndCountsItsBytes) {
  Session s("c", 1);
  auto request = Request("c1", R"({"x":1})");
  s.AddPending(1, request);

  s.QueueResume(std::nullopt);

  const size_t bytes = s.outbox_bytes();
  OutboxBatch out = s.TakeOutbox();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].request, request);  // same immutable object, not a copy
  EXPECT_EQ(bytes, out[0].bytes());
}

TEST(SessionTest, QueueResumeIgnoresTheOutboxLimitButLaterPushesRespectIt) {
  Session s("c", 1);
  const size_t cost = RequestItem(1, "c1").bytes();
  for (uint64_t id = 1; id <= 3; ++id) {
    s.AddPending(id, Request("c" + std::to_string(id)));
  }

  s.QueueResume(std::nullopt);
  EXPECT_EQ(s.outbox_bytes(), 3 * cost);

  // The resent requests already exceed a 2-item limit: nothing more fits.
  EXPECT_FALSE(s.Push(RequestItem(4, "c4"), 2 * cost));
  EXPECT_EQ(s.outbox_bytes(), 3 * cost);
}

}  // namespace
}  // namespace sserpc::server_internal
