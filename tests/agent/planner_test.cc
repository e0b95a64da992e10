// RulePlanner's task grammar, and the agent's failure rules and options.
#include "examples/agent/planner.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "examples/agent/agent.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string DirOf(const std::string& text) {
  RulePlanner planner;
  absl::StatusOr<std::vector<Step>> plan = planner.Plan({text});
  EXPECT_TRUE(plan.ok()) << text << ": " << plan.status();
  if (!plan.ok() || plan->empty()) return "<no plan>";
  return (*plan)[0].path;
}

TEST(RulePlannerTest, SummarizeListsReadsConfirmsThenSummarizes) {
  RulePlanner planner;
  absl::StatusOr<std::vector<Step>> plan = planner.Plan({"summarize notes"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 4u);
  EXPECT_EQ((*plan)[0].kind, Step::Kind::kListDir);
  EXPECT_EQ((*plan)[0].path, "notes");
  EXPECT_EQ((*plan)[1].kind, Step::Kind::kReadListedFiles);
  EXPECT_THAT((*plan)[1].extensions, ElementsAre(".txt", ".md"));
  EXPECT_EQ((*plan)[2].kind, Step::Kind::kConfirm);
  EXPECT_EQ((*plan)[2].question, "Write a summary of {files}?");
  EXPECT_EQ((*plan)[3].kind, Step::Kind::kSummarize);
  for (const Step& step : *plan) EXPECT_TRUE(step.required);
}

TEST(RulePlannerTest, UnderstandsTheWaysOfNamingTheDirectory) {
  EXPECT_EQ(DirOf("summarize the notes in notes"), "notes");
  EXPECT_EQ(DirOf("  Summarise notes in docs/  "), "docs/");
  EXPECT_EQ(DirOf("SUMMARIZE The Notes In \"my notes\""), "my notes");
  EXPECT_EQ(DirOf("summarize 'a b'"), "a b");
  EXPECT_EQ(DirOf("summarize"), ".");
  EXPECT_EQ(DirOf("summarize the notes in"), ".");
}

TEST(RulePlannerTest, RefusesTasksItDoesNotUnderstand) {
  RulePlanner planner;
  for (const char* text :
       {"", "delete everything", "summarizenotes", "please summarize x"}) {
    absl::StatusOr<std::vector<Step>> plan = planner.Plan({text});
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(plan.status().message(),
                HasSubstr("summarize [the notes in] DIR"));
  }
}

TEST(AgentRulesTest, OnlyAGoneClientOrACancelledRunEndsItWhateverTheStep) {
  EXPECT_TRUE(EndsRun(absl::UnavailableError("gone"), /*step_required=*/false));
  EXPECT_TRUE(EndsRun(absl::CancelledError("stop"), false));
  EXPECT_FALSE(EndsRun(absl::DeadlineExceededError("slow"), false));
  EXPECT_FALSE(EndsRun(absl::PermissionDeniedError("outside"), false));
  EXPECT_FALSE(EndsRun(absl::NotFoundError("missing"), false));
  EXPECT_TRUE(EndsRun(absl::DeadlineExceededError("slow"), true));
  EXPECT_TRUE(EndsRun(absl::PermissionDeniedError("outside"), true));
  EXPECT_FALSE(EndsRun(absl::OkStatus(), true));
  EXPECT_EQ(MeaningOf(absl::UnavailableError("")), "the client is gone");
  EXPECT_EQ(MeaningOf(absl::DeadlineExceededError("")),
            "no answer before the deadline");
}

TEST(AgentRulesTest, OptionsMustBePositive) {
  EXPECT_TRUE(ValidateAgentOptions({}).ok());
  AgentOptions o;
  o.confirm_timeout = absl::ZeroDuration();
  EXPECT_THAT(ValidateAgentOptions(o).message(), HasSubstr("confirm_timeout"));
  o = {};
  o.tool_timeout = -absl::Seconds(1);
  EXPECT_EQ(ValidateAgentOptions(o).code(), absl::StatusCode::kInvalidArgument);
  o = {};
  o.max_file_bytes = 0;
  EXPECT_EQ(ValidateAgentOptions(o).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agent
