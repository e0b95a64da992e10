#include "server/deadline_queue.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

#include "gtest/gtest.h"

namespace sserpc::server_internal {
namespace {

using Kind = DeadlineQueue::Kind;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

DeadlineQueue::Entry CallEntry(std::string key) {
  return {Kind::kCall, std::move(key), 0};
}

std::vector<std::string> Keys(const std::vector<DeadlineQueue::Entry>& due) {
  std::vector<std::string> keys;
  for (const auto& e : due) keys.push_back(e.key);
  return keys;
}

TEST(DeadlineQueueTest, EmptyQueueHasNoNextAndNothingDue) {
  DeadlineQueue q;
  EXPECT_FALSE(q.Next().has_value());
  EXPECT_TRUE(q.PopDue(absl::InfiniteFuture()).empty());
  EXPECT_EQ(q.size(), 0u);
}

TEST(DeadlineQueueTest, PopDueReturnsDueEntriesEarliestFirst) {
  DeadlineQueue q;
  q.Add(kT0 + absl::Seconds(3), CallEntry("c"));
  q.Add(kT0 + absl::Seconds(1), CallEntry("a"));
  q.Add(kT0 + absl::Seconds(2), CallEntry("b"));

  EXPECT_EQ(Keys(q.PopDue(kT0 + absl::Seconds(10))),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(q.size(), 0u);
}

TEST(DeadlineQueueTest, EntryDueExactlyNowIsPoppedAndLaterOnesStay) {
  DeadlineQueue q;
  q.Add(kT0, CallEntry("now"));
  q.Add(kT0 + absl::Nanoseconds(1), CallEntry("later"));

  EXPECT_EQ(Keys(q.PopDue(kT0)), (std::vector<std::string>{"now"}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.Next(), kT0 + absl::Nanoseconds(1));
}

TEST(DeadlineQueueTest, NothingIsPoppedBeforeItsTime) {
  DeadlineQueue q;
  q.Add(kT0, CallEntry("a"));

  EXPECT_TRUE(q.PopDue(kT0 - absl::Nanoseconds(1)).empty());
  EXPECT_EQ(q.size(), 1u);
}

TEST(DeadlineQueueTest, EntriesWithTheSameDeadlineComeOutInInsertionOrder) {
  DeadlineQueue q;
  q.Add(kT0, CallEntry("first"));
  q.Add(kT0, CallEntry("second"));
  q.Add(kT0, CallEntry("third"));

  EXPECT_EQ(Keys(q.PopDue(kT0)),
            (std::vector<std::string>{"first", "second", "third"}));
}

TEST(DeadlineQueueTest, PoppedEntriesKeepTheirKindKeyAndStamp) {
  DeadlineQueue q;
  q.Add(kT0, {Kind::kSessionGrace, "client-1", 7});

  std::vector<DeadlineQueue::Entry> due = q.PopDue(kT0);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].kind, Kind::kSessionGrace);
  EXPECT_EQ(due[0].key, "client-1");
  EXPECT_EQ(due[0].stamp, 7u);
}

TEST(DeadlineQueueTest, RemoveThroughHandleDropsOnlyThatEntry) {
  DeadlineQueue q;
  q.Add(kT0 + absl::Seconds(1), CallEntry("a"));
  DeadlineQueue::Handle b = q.Add(kT0 + absl::Seconds(2), CallEntry("b"));
  q.Add(kT0 + absl::Seconds(3), CallEntry("c"));

  q.Remove(b);

  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(Keys(q.PopDue(kT0 + absl::Seconds(10))),
            (std::vector<std::string>{"a", "c"}));
}

TEST(DeadlineQueueTest, RemoveOneOfSeveralEntriesWithTheSameDeadline) {
  DeadlineQueue q;
  q.Add(kT0, CallEntry("a"));
  DeadlineQueue::Handle b = q.Add(kT0, CallEntry("b"));
  q.Add(kT0, CallEntry("c"));

  q.Remove(b);

  EXPECT_EQ(Keys(q.PopDue(kT0)), (std::vector<std::string>{"a", "c"}));
}

TEST(DeadlineQueueTest, NextIsTheEarliestDeadlineAndFollowsRemovals) {
  DeadlineQueue q;
  DeadlineQueue::Handle late = q.Add(kT0 + absl::Seconds(5), CallEntry("late"));
  EXPECT_EQ(q.Next(), kT0 + absl::Seconds(5));

  DeadlineQueue::Handle early =
      q.Add(kT0 + absl::Seconds(1), CallEntry("early"));
  EXPECT_EQ(q.Next(), kT0 + absl::Seconds(1));

  q.Remove(early);
  EXPECT_EQ(q.Next(), kT0 + absl::Seconds(5));

  q.Remove(late);
  EXPECT_FALSE(q.Next().has_value());
}

TEST(DeadlineQueueTest, HandlesOfEntriesNotPoppedStayValid) {
  DeadlineQueue q;
  q.Add(kT0, CallEntry("due"));
  DeadlineQueue::Handle later =
      q.Add(kT0 + absl::Seconds(1), CallEntry("later"));

  q.PopDue(kT0);
  q.Remove(later);

  EXPECT_EQ(q.size(), 0u);
  EXPECT_FALSE(q.Next().has_value());
}

TEST(DeadlineQueueTest, EndIsDistinctFromEveryAddedHandle) {
  DeadlineQueue q;
  DeadlineQueue::Handle h = q.Add(kT0, CallEntry("a"));
  EXPECT_NE(h, q.end());
}

TEST(DeadlineQueueTest, RemovedEntriesSlotsAreReusedWithTheirNewContents) {
  DeadlineQueue q;
  DeadlineQueue::Handle a = q.Add(kT0, CallEntry("a-long-call-id-beyond-sso"));
  q.Add(kT0 + absl::Seconds(1), CallEntry("b"));
  q.Add(kT0 + absl::Seconds(9), CallEntry("keeps-the-queue-non-empty"));
  q.Remove(a);
  q.PopFirstDue(kT0 + absl::Seconds(1));
  EXPECT_EQ(q.spare_slots(), 2u);

  // Reused slots carry the new deadline, kind, key and stamp, and sort by
  // the new deadline.
  q.Add(kT0 + absl::Seconds(5), DeadlineQueue::Kind::kSessionGrace, "late", 7);
  q.Add(kT0 + absl::Seconds(2), DeadlineQueue::Kind::kCall, "x");
  EXPECT_EQ(q.spare_slots(), 0u);
  q.Add(kT0 + absl::Seconds(3), CallEntry("fresh"));  // a new slot

  std::vector<DeadlineQueue::Entry> due = q.PopDue(kT0 + absl::Seconds(10));
  ASSERT_EQ(due.size(), 4u);
  EXPECT_EQ(due[0].key, "x");
  EXPECT_EQ(due[0].kind, DeadlineQueue::Kind::kCall);
  EXPECT_EQ(due[0].stamp, 0u);
  EXPECT_EQ(due[1].key, "fresh");
  EXPECT_EQ(due[2].key, "late");
  EXPECT_EQ(due[2].kind, DeadlineQueue::Kind::kSessionGrace);
  EXPECT_EQ(due[2].stamp, 7u);
  EXPECT_EQ(due[3].key, "keeps-the-queue-non-empty");
}

TEST(DeadlineQueueTest, AnEmptiedQueueKeepsAtMostMaxSpareSlots) {
  DeadlineQueue q;
  const size_t n = DeadlineQueue::kMaxSpareSlots + 10;
  std::vector<DeadlineQueue::Handle> handles;
  for (size_t i = 0; i < n; ++i) {
    handles.push_back(q.Add(kT0 + absl::Milliseconds(i), CallEntry("c")));
  }
  for (DeadlineQueue::Handle h : handles) q.Remove(h);
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.spare_slots(), DeadlineQueue::kMaxSpareSlots);
  // The kept slots work as new ones.
  q.Add(kT0 + absl::Seconds(2), CallEntry("b"));
  q.Add(kT0 + absl::Seconds(1), CallEntry("a"));
  EXPECT_EQ(Keys(q.PopDue(kT0 + absl::Seconds(2))),
            (std::vector<std::string>{"a", "b"}));
}

// Against a plain sorted list, over many random adds, removals through
// handles and pops: every entry comes out once, in (deadline, insertion)
// order, and Next() and size() agree all along.
TEST(DeadlineQueueTest, MatchesASortedListUnderRandomOperations) {
  DeadlineQueue q;
  struct Model {
    absl::Time when;
    uint64_t seq;
    std::string key;
    DeadlineQueue::Handle handle;
  };
  std::vector<Model> model;
  std::mt19937 rng(12345);
  uint64_t seq = 0;
  absl::Time now = kT0;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    if (op < 5) {
      // Mostly in order, often equal, sometimes earlier than the rest.
      const absl::Time when =
          now + absl::Milliseconds(static_cast<int64_t>(rng() % 50)) -
          absl::Milliseconds(op == 0 ? 30 : 0);
      const std::string key = absl::StrCat("k", seq);
      DeadlineQueue::Handle h = q.Add(when, CallEntry(key));
      model.push_back({when, seq++, key, h});
    } else if (op < 8 && !model.empty()) {
      const size_t i = rng() % model.size();
      q.Remove(model[i].handle);
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      now += absl::Milliseconds(static_cast<int64_t>(rng() % 20));
      std::sort(model.begin(), model.end(), [](const Model& a, const Model& b) {
        return a.when < b.when || (a.when == b.when && a.seq < b.seq);
      });
      std::vector<std::string> expected;
      while (!model.empty() && model.front().when <= now) {
        expected.push_back(model.front().key);
        model.erase(model.begin());
      }
      ASSERT_EQ(Keys(q.PopDue(now)), expected) << "step " << step;
    }
    ASSERT_EQ(q.size(), model.size());
    if (model.empty()) {
      ASSERT_FALSE(q.Next().has_value());
    } else {
      absl::Time earliest = absl::InfiniteFuture();
      for (const Model& m : model) earliest = std::min(earliest, m.when);
      ASSERT_EQ(q.Next(), earliest);
    }
  }
}

}  // namespace
}  // namespace sserpc::server_internal
