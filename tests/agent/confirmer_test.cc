// TerminalConfirmer over real pipes: the "terminal" is a pipe the test
// types into, and the prompts go to a pipe the test reads.
#include "examples/agent/confirmer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sserpc/client/call_context.h"

namespace agent {
namespace {

using ::testing::HasSubstr;

struct TestCall {
  sserpc::Cancellation cancellation;
  sserpc::CallContext ctx{"call-1", "agent.tools.v1.Workspace/Confirm",
                          "laptop", absl::Now() + absl::Minutes(10),
                          &cancellation};
};

class TerminalConfirmerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pipe2(in_, O_CLOEXEC), 0);
    int out[2];
    ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
    out_read_ = out[0];
    out_ = fdopen(out[1], "w");
    ASSERT_NE(out_, nullptr);
    confirmer_ = std::make_unique<TerminalConfirmer>(in_[0], out_);
  }
  void TearDown() override {
    confirmer_.reset();
    close(in_[0]);
    if (in_[1] >= 0) close(in_[1]);
    if (out_ != nullptr) fclose(out_);
    close(out_read_);
  }

  void Type(absl::string_view text) {
    ASSERT_EQ(write(in_[1], text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }
  void CloseInput() {
    close(in_[1]);
    in_[1] = -1;
  }
  // Reads what the confirmer wrote until `marker` has appeared (blocks).
  void ReadUntil(absl::string_view marker) {
    while (!absl::StrContains(shown_, marker)) {
      char buf[256];
      const ssize_t n = read(out_read_, buf, sizeof(buf));
      ASSERT_GT(n, 0) << "the confirmer stopped writing before " << marker;
      shown_.append(buf, static_cast<size_t>(n));
    }
  }
  // Everything the confirmer wrote (it must be done writing).
  std::string Shown() {
    fclose(out_);
    out_ = nullptr;
    char buf[256];
    ssize_t n;
    while ((n = read(out_read_, buf, sizeof(buf))) > 0) {
      shown_.append(buf, static_cast<size_t>(n));
    }
    return shown_;
  }

  int in_[2] = {-1, -1};
  int out_read_ = -1;
  FILE* out_ = nullptr;
  std::string shown_;
  std::unique_ptr<TerminalConfirmer> confirmer_;
};

TEST_F(TerminalConfirmerTest, AnswersYesAndNoInAnyCase) {
  TestCall call;
  Type("Y\n");
  absl::StatusOr<bool> r =
      confirmer_->Confirm(call.ctx, "Write it?", "a.txt, b.md");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  Type("  No \n");
  r = confirmer_->Confirm(call.ctx, "Really?", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(*r);
  const std::string shown = Shown();
  EXPECT_THAT(shown,
              HasSubstr("[agent asks] Write it?\n  about: a.txt, b.md\n"));
  EXPECT_THAT(shown, HasSubstr("(answer within "));
  EXPECT_THAT(shown, HasSubstr("[agent asks] Really?\n"));
}

TEST_F(TerminalConfirmerTest, AsksAgainUntilTheAnswerIsYesOrNo) {
  TestCall call;
  Type("maybe\n\nyes\n");
  absl::StatusOr<bool> r = confirmer_->Confirm(call.ctx, "Go?", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  const std::string shown = Shown();
  size_t asked_again = 0;
  for (size_t at = 0;
       (at = shown.find("please answer y or n", at)) != std::string::npos;
       ++at) {
    ++asked_again;
  }
  EXPECT_EQ(asked_again, 2u) << shown;
}

TEST_F(TerminalConfirmerTest, AnswersTypedAheadServeTheNextQuestions) {
  TestCall call;
  Type("y\nn\n");
  EXPECT_TRUE(*confirmer_->Confirm(call.ctx, "First?", ""));
  EXPECT_FALSE(*confirmer_->Confirm(call.ctx, "Second?", ""));
}

TEST_F(TerminalConfirmerTest, ClosedInputMeansNobodyCanAnswer) {
  TestCall call;
  Type("y");  // a last line without its newline still counts
  CloseInput();
  absl::StatusOr<bool> r = confirmer_->Confirm(call.ctx, "First?", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  r = confirmer_->Confirm(call.ctx, "Second?", "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  r = confirmer_->Confirm(call.ctx, "Third?", "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TerminalConfirmerTest, TheCallsEndWithdrawsTheQuestionAtOnce) {
  TestCall call;
  absl::StatusOr<bool> r;
  std::thread asking([&] { r = confirmer_->Confirm(call.ctx, "Go?", ""); });
  ReadUntil("[y/n] ");  // it is waiting for the person now
  call.cancellation.Cancel(absl::DeadlineExceededError("deadline"));
  asking.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Shown(), HasSubstr("(question withdrawn: DEADLINE_EXCEEDED"));
}

TEST_F(TerminalConfirmerTest,
       ASecondQuestionWaitsForTheTerminalAndCanBeWithdrawnMeanwhile) {
  TestCall first, second;
  absl::StatusOr<bool> first_answer, second_answer;
  std::thread asking_first(
      [&] { first_answer = confirmer_->Confirm(first.ctx, "First?", ""); });
  ReadUntil("[y/n] ");
  std::thread asking_second(
      [&] { second_answer = confirmer_->Confirm(second.ctx, "Second?", ""); });
  second.cancellation.Cancel(absl::CancelledError("caller gave up"));
  asking_second.join();  // returns although the first holds the terminal
  EXPECT_EQ(second_answer.status().code(), absl::StatusCode::kCancelled);
  Type("y\n");
  asking_first.join();
  ASSERT_TRUE(first_answer.ok()) << first_answer.status();
  EXPECT_TRUE(*first_answer);
  const std::string shown = Shown();
  EXPECT_THAT(shown, HasSubstr("First?"));
  EXPECT_THAT(shown, ::testing::Not(HasSubstr("Second?")));
}

TEST(FixedConfirmerTest, AnswersAtOnce) {
  TestCall call;
  EXPECT_TRUE(*FixedConfirmer(true).Confirm(call.ctx, "Go?", ""));
  EXPECT_FALSE(*FixedConfirmer(false).Confirm(call.ctx, "Go?", ""));
}

}  // namespace
}  // namespace agent
