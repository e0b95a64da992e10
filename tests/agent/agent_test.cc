// The agent example end to end, in one process: a real sserpc::Server with
// the Agent on one side, real sserpc::Clients serving WorkspaceTools on a
// temporary directory on the other, over 127.0.0.1.
#include "examples/agent/agent.h"

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent_tools.sserpc.h"
#include "examples/agent/confirmer.h"
#include "examples/agent/planner.h"
#include "examples/agent/workspace_root.h"
#include "examples/agent/workspace_tools.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sserpc/client/client.h"
#include "sserpc/proto/sync.h"
#include "sserpc/server/server.h"
#include "tests/agent/temp_dir.h"

namespace agent {
namespace {

namespace pb = ::agent::tools::v1;
using ::agent::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kClient[] = "laptop";

// Answers every question the same way and remembers the questions.
class RecordingConfirmer final : public Confirmer {
 public:
  explicit RecordingConfirmer(bool answer) : answer_(answer) {}

  absl::StatusOr<bool> Confirm(sserpc::CallContext& ctx,
                               absl::string_view question,
                               absl::string_view details) override {
    sserpc::MutexLock lock(&mu_);
    asked_.push_back(absl::StrCat(question, " | ", details));
    return answer_;
  }
  std::vector<std::string> asked() {
    sserpc::MutexLock lock(&mu_);
    return asked_;
  }

 private:
  const bool answer_;
  sserpc::Mutex mu_;
  std::vector<std::string> asked_ ABSL_GUARDED_BY(mu_);
};

// A person who never answers: waits until the call ends, and says how.
class SilentConfirmer final : public Confirmer {
 public:
  absl::StatusOr<bool> Confirm(sserpc::CallContext& ctx,
                               absl::string_view question,
                               absl::string_view details) override {
    asked.Notify();
    ctx.cancellation().WaitWithTimeout(absl::Seconds(60));
    {
      sserpc::MutexLock lock(&mu_);
      ended_with_ = ctx.cancel_status();
    }
    ended.Notify();
    return ctx.cancel_status();
  }
  absl::Status ended_with() {
    sserpc::MutexLock lock(&mu_);
    return ended_with_;
  }

  sserpc::Notification asked;
  sserpc::Notification ended;

 private:
  sserpc::Mutex mu_;
  absl::Status ended_with_ ABSL_GUARDED_BY(mu_);
};

// WorkspaceTools, except that ListDir or ReadFile of `slow_path` never
// answers: it waits until the call ends.
class SlowTools final : public pb::Workspace::Handler {
 public:
  SlowTools(pb::Workspace::Handler& tools, std::string slow_path)
      : tools_(tools), slow_path_(std::move(slow_path)) {}

  absl::StatusOr<pb::ListDirResponse> ListDir(
      sserpc::CallContext& ctx, const pb::ListDirRequest& r) override {
    if (r.path() == slow_path_) return Stall(ctx);
    return tools_.ListDir(ctx, r);
  }
  absl::StatusOr<pb::ReadFileResponse> ReadFile(
      sserpc::CallContext& ctx, const pb::ReadFileRequest& r) override {
    if (r.path() == slow_path_) return Stall(ctx);
    return tools_.ReadFile(ctx, r);
  }
  absl::StatusOr<pb::ConfirmResponse> Confirm(
      sserpc::CallContext& ctx, const pb::ConfirmRequest& r) override {
    return tools_.Confirm(ctx, r);
  }
  absl::StatusOr<pb::ProgressAck> Progress(
      sserpc::CallContext& ctx, const pb::ProgressRequest& r) override {
    return tools_.Progress(ctx, r);
  }

  sserpc::Notification stalled;

 private:
  absl::Status Stall(sserpc::CallContext& ctx) {
    stalled.Notify();
    ctx.cancellation().WaitWithTimeout(absl::Seconds(60));
    return ctx.cancel_status();
  }

  pb::Workspace::Handler& tools_;
  const std::string slow_path_;
};

// A planner that returns the plan it was given, as a model might.
class FixedPlanner final : public Planner {
 public:
  explicit FixedPlanner(std::vector<Step> plan) : plan_(std::move(plan)) {}
  absl::StatusOr<std::vector<Step>> Plan(const Task&) override { return plan_; }

 private:
  const std::vector<Step> plan_;
};

Step ReadStep(std::string path) {
  Step s;
  s.kind = Step::Kind::kReadFile;
  s.path = std::move(path);
  s.required = false;
  return s;
}

Step SummarizeStep() {
  Step s;
  s.kind = Step::Kind::kSummarize;
  return s;
}

// "[CODE] action: note" for every step, to compare in one go.
std::vector<std::string> StepLines(const AgentReport& report) {
  std::vector<std::string> lines;
  for (const StepRecord& s : report.steps) {
    lines.push_back(absl::StrCat(
        "[", s.status.ok() ? "ok" : absl::StatusCodeToString(s.status.code()),
        "] ", s.action, ": ", s.note));
  }
  return lines;
}

// ws/notes/a.txt   three lines
// ws/notes/b.md    one heading and text
// ws/notes/c.bin   not a note
// ws/notes/sub/    a directory
// outside/secret.txt
class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.Mkdir("ws");
    tmp_.Mkdir("ws/notes");
    tmp_.Mkdir("ws/notes/sub");
    tmp_.Write("ws/notes/a.txt", "Buy milk\nCall Ada\n\nShip sserpc 1.0\n");
    tmp_.Write("ws/notes/b.md", "# Design review\nThe agent loop is fine.\n");
    tmp_.Write("ws/notes/c.bin", std::string("\x00\x01\x02", 3));
    tmp_.Write("ws/notes/sub/deep.txt",
               "not read: the agent does not recurse\n");
    tmp_.Mkdir("outside");
    tmp_.Write("outside/secret.txt", "TOP SECRET\n");
    StartServer({});
  }

  void TearDown() override {
    for (auto& c : clients_) c->Stop(absl::ZeroDuration());
    if (server_ != nullptr) server_->Stop();  // ends any call a run waits for
    if (background_.joinable()) background_.join();
  }

  void StartServer(sserpc::ServerOptions options) {
    if (server_ != nullptr) server_->Stop();
    server_ = std::make_unique<sserpc::Server>(options);
    absl::StatusOr<int> port = server_->Start("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
    caller_ = std::make_unique<pb::Workspace::Caller>(*server_);
  }

  // WorkspaceTools on ws/, recording progress notices.
  std::unique_ptr<WorkspaceTools> Tools(Confirmer& confirmer) {
    absl::StatusOr<WorkspaceRoot> root = WorkspaceRoot::Open(tmp_.Path("ws"));
    EXPECT_TRUE(root.ok()) << root.status();
    return std::make_unique<WorkspaceTools>(
        *std::move(root), confirmer,
        [this](absl::string_view message, double fraction) {
          sserpc::MutexLock lock(&mu_);
          progress_.emplace_back(std::string(message), fraction);
        });
  }

  // A started, connected client serving `handler` as kClient.
  sserpc::Client* Connect(pb::Workspace::Handler* handler) {
    sserpc::ClientOptions o;
    o.server_url = absl::StrCat("http://127.0.0.1:", port_);
    o.client_id = kClient;
    o.reconnect_initial = absl::Milliseconds(20);
    auto client = std::make_unique<sserpc::Client>(o);
    EXPECT_TRUE(pb::Workspace::Register(*client, handler).ok());
    EXPECT_TRUE(client->Start().ok());
    EXPECT_TRUE(client->WaitUntilConnected(absl::Seconds(10)));
    clients_.push_back(std::move(client));
    return clients_.back().get();
  }

  AgentReport Run(Planner& planner, const std::string& task,
                  AgentOptions options = {}) {
    Agent agent(*caller_, planner, options);
    return agent.Run(kClient, {task});
  }

  // Runs the agent on another thread, so the test can act meanwhile; a
  // failing test's TearDown() still joins it.
  void RunInBackground(const std::string& task, AgentOptions options = {}) {
    background_ = std::thread([this, task, options] {
      background_report_ = Run(rule_planner_, task, options);
      run_over_.Notify();
    });
  }
  AgentReport WaitForRun() {
    background_.join();
    return background_report_;
  }

  std::vector<std::pair<std::string, double>> progress() {
    sserpc::MutexLock lock(&mu_);
    return progress_;
  }

  TempDir tmp_;
  std::unique_ptr<sserpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<pb::Workspace::Caller> caller_;
  std::vector<std::unique_ptr<sserpc::Client>> clients_;
  RulePlanner rule_planner_;
  std::thread background_;
  AgentReport background_report_;  // written by background_ before it ends
  sserpc::Notification run_over_;
  sserpc::Mutex mu_;
  std::vector<std::pair<std::string, double>> progress_ ABSL_GUARDED_BY(mu_);
};

TEST_F(AgentTest, SummarizesTheNotesAfterTheUserConfirms) {
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  Connect(tools.get());

  AgentReport report = Run(rule_planner_, "summarize the notes in notes");

  EXPECT_EQ(report.outcome, Outcome::kCompleted) << report.ToString();
  EXPECT_TRUE(report.status.ok()) << report.status;
  EXPECT_THAT(
      StepLines(report),
      ElementsAre("[ok] ListDir(\"notes\"): 4 entries",
                  "[ok] ReadFile(\"notes/a.txt\"): 35 bytes",
                  "[ok] ReadFile(\"notes/b.md\"): 40 bytes",
                  "[ok] ReadListedFiles(.txt, .md): read 2 of 2 files",
                  "[ok] Confirm(\"Write a summary of 2 files?\"): approved",
                  "[ok] Summarize: 2 files"));
  EXPECT_THAT(
      yes.asked(),
      ElementsAre("Write a summary of 2 files? | notes/a.txt, notes/b.md"));
  ASSERT_THAT(report.summary, SizeIs(2));
  EXPECT_EQ(report.summary[0].path, "notes/a.txt");
  EXPECT_EQ(report.summary[0].lines, 4);
  EXPECT_EQ(report.summary[0].words, 7);
  EXPECT_EQ(report.summary[0].first_line, "Buy milk");
  EXPECT_FALSE(report.summary[0].truncated);
  EXPECT_EQ(report.summary[1].first_line, "# Design review");
  EXPECT_THAT(report.ToString(), HasSubstr("outcome: completed"));

  // The client heard about every step: "starting" first, then one per step.
  std::vector<std::pair<std::string, double>> heard = progress();
  ASSERT_THAT(heard, SizeIs(5));
  EXPECT_EQ(heard[0].first, "starting: summarize the notes in notes (4 steps)");
  EXPECT_EQ(heard[0].second, 0.0);
  EXPECT_EQ(heard[2].second, 0.5);
  EXPECT_EQ(heard[4].first, "Summarize: 2 files");
  EXPECT_EQ(heard[4].second, 1.0);
}

TEST_F(AgentTest, FilesLongerThanTheLimitAreSummarizedFromTheirStart) {
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  Connect(tools.get());
  AgentOptions options;
  options.max_file_bytes = 8;

  AgentReport report = Run(rule_planner_, "summarize notes", options);

  ASSERT_EQ(report.outcome, Outcome::kCompleted) << report.ToString();
  EXPECT_THAT(StepLines(report)[1],
              "[ok] ReadFile(\"notes/a.txt\"): 8 bytes (truncated)");
  EXPECT_TRUE(report.summary[0].truncated);
  EXPECT_EQ(report.summary[0].first_line, "Buy milk");
}

TEST_F(AgentTest, PathEscapesAreRefusedAndTheAgentCarriesOn) {
  tmp_.Symlink("../../outside/secret.txt", "ws/notes/leak.txt");
  tmp_.Symlink(tmp_.Path("outside/secret.txt"), "ws/notes/leak-abs.md");
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  Connect(tools.get());
  // A plan as a model might write it: it names paths outside the root.
  FixedPlanner planner(
      {ReadStep("../etc/passwd"), ReadStep("../outside/secret.txt"),
       ReadStep(tmp_.Path("outside/secret.txt")), ReadStep("/etc/passwd"),
       ReadStep("notes/leak.txt"), ReadStep("notes/a.txt"), SummarizeStep()});

  AgentReport report = Run(planner, "read everything");

  EXPECT_EQ(report.outcome, Outcome::kCompleted) << report.ToString();
  ASSERT_THAT(report.steps, SizeIs(7));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(report.steps[i].status.code(),
              absl::StatusCode::kPermissionDenied)
        << report.steps[i].action;
    EXPECT_THAT(report.steps[i].note,
                HasSubstr("skipped: refused by the client"));
  }
  EXPECT_TRUE(report.steps[5].status.ok());
  ASSERT_THAT(report.summary, SizeIs(1));
  EXPECT_EQ(report.summary[0].path, "notes/a.txt");
  EXPECT_THAT(report.ToString(), Not(HasSubstr("TOP SECRET")));
}

TEST_F(AgentTest, ListedSymlinksOutOfTheRootAreSkippedByTheRulePlan) {
  tmp_.Symlink("../../outside/secret.txt", "ws/notes/leak.txt");
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  Connect(tools.get());

  AgentReport report = Run(rule_planner_, "summarize notes");

  EXPECT_EQ(report.outcome, Outcome::kCompleted) << report.ToString();
  std::vector<std::string> lines = StepLines(report);
  ASSERT_THAT(lines, SizeIs(7));
  EXPECT_THAT(lines[3],
              HasSubstr("[PERMISSION_DENIED] ReadFile(\"notes/leak.txt\"): "
                        "skipped: refused by the client"));
  EXPECT_EQ(lines[4], "[ok] ReadListedFiles(.txt, .md): read 2 of 3 files");
  EXPECT_THAT(yes.asked(),
              ElementsAre(HasSubstr("Write a summary of 2 files?")));
  EXPECT_THAT(report.ToString(), Not(HasSubstr("TOP SECRET")));
}

TEST_F(AgentTest, ARefusedConfirmationStopsTheRunAsUserDeclined) {
  RecordingConfirmer no(false);
  std::unique_ptr<WorkspaceTools> tools = Tools(no);
  Connect(tools.get());

  AgentReport report = Run(rule_planner_, "summarize notes");

  EXPECT_EQ(report.outcome, Outcome::kDeclined) << report.ToString();
  EXPECT_EQ(report.status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(report.status.message(),
            "user declined: Write a summary of 2 files?");
  EXPECT_EQ(StepLines(report).back(),
            "[ok] Confirm(\"Write a summary of 2 files?\"): declined");
  EXPECT_THAT(report.summary, IsEmpty());
  EXPECT_THAT(no.asked(), SizeIs(1));
}

TEST_F(AgentTest, AConfirmationNobodyAnswersEndsAtItsDeadline) {
  SilentConfirmer silent;
  std::unique_ptr<WorkspaceTools> tools = Tools(silent);
  Connect(tools.get());
  AgentOptions options;
  options.confirm_timeout = absl::Milliseconds(300);

  AgentReport report = Run(rule_planner_, "summarize notes", options);

  EXPECT_EQ(report.outcome, Outcome::kFailed) << report.ToString();
  EXPECT_EQ(report.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(
      report.status.message(),
      HasSubstr("Confirm(\"Write a summary of 2 files?\"): no answer before "
                "the deadline"));
  EXPECT_THAT(report.summary, IsEmpty());
  // The client was told and withdrew the question.
  ASSERT_TRUE(silent.ended.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(silent.ended_with().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(AgentTest, ASlowReadIsSkippedAndTheRunCompletes) {
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  SlowTools slow(*tools, "notes/a.txt");
  Connect(&slow);
  AgentOptions options;
  options.tool_timeout = absl::Milliseconds(300);

  AgentReport report = Run(rule_planner_, "summarize notes", options);

  EXPECT_EQ(report.outcome, Outcome::kCompleted) << report.ToString();
  std::vector<std::string> lines = StepLines(report);
  ASSERT_THAT(lines, SizeIs(6));
  EXPECT_EQ(lines[1],
            "[DEADLINE_EXCEEDED] ReadFile(\"notes/a.txt\"): skipped: no answer "
            "before "
            "the deadline");
  EXPECT_EQ(lines[4], "[ok] Confirm(\"Write a summary of 1 file?\"): approved");
  ASSERT_THAT(report.summary, SizeIs(1));
  EXPECT_EQ(report.summary[0].path, "notes/b.md");
}

TEST_F(AgentTest, ASlowListingEndsTheRunBecauseTheRestNeedsIt) {
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  SlowTools slow(*tools, "notes");
  Connect(&slow);
  AgentOptions options;
  options.tool_timeout = absl::Milliseconds(300);

  AgentReport report = Run(rule_planner_, "summarize notes", options);

  EXPECT_EQ(report.outcome, Outcome::kFailed) << report.ToString();
  EXPECT_EQ(report.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(
      StepLines(report),
      ElementsAre(
          "[DEADLINE_EXCEEDED] ListDir(\"notes\"): no answer before the "
          "deadline"));
  EXPECT_THAT(yes.asked(), IsEmpty());
}

TEST_F(AgentTest, AClientThatGoesAwayForGoodEndsTheRunAsUnavailable) {
  sserpc::ServerOptions server_options;
  server_options.resume_grace = absl::Milliseconds(300);
  server_options.liveness_check = absl::Milliseconds(50);
  StartServer(server_options);
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  SlowTools slow(*tools, "notes/a.txt");
  sserpc::Client* client = Connect(&slow);

  RunInBackground("summarize notes");
  ASSERT_TRUE(slow.stalled.WaitForNotificationWithTimeout(absl::Seconds(10)));
  client->Stop(absl::ZeroDuration());  // gone, and no answer sent
  AgentReport report = WaitForRun();

  EXPECT_EQ(report.outcome, Outcome::kFailed) << report.ToString();
  EXPECT_EQ(report.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(report.status.message(),
              HasSubstr("ReadFile(\"notes/a.txt\"): the client is gone"));
  // Although reading one file is optional, nothing is tried after it.
  EXPECT_EQ(StepLines(report).back(),
            "[UNAVAILABLE] ReadFile(\"notes/a.txt\"): the client is gone");
  EXPECT_THAT(yes.asked(), IsEmpty());
}

TEST_F(AgentTest, AQuestionInFlightSurvivesTheClientReconnecting) {
  SilentConfirmer away;  // the first client process never gets an answer
  std::unique_ptr<WorkspaceTools> first_tools = Tools(away);
  sserpc::Client* first = Connect(first_tools.get());

  RunInBackground("summarize notes");
  ASSERT_TRUE(away.asked.WaitForNotificationWithTimeout(absl::Seconds(10)));
  first->Stop(absl::ZeroDuration());  // the process dies; no answer sent
  EXPECT_EQ(away.ended_with().code(), absl::StatusCode::kUnavailable);

  // A new process, same client id, within the grace period: the question is
  // delivered again and answered there.
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> second_tools = Tools(yes);
  Connect(second_tools.get());
  AgentReport report = WaitForRun();

  EXPECT_EQ(report.outcome, Outcome::kCompleted) << report.ToString();
  EXPECT_THAT(
      yes.asked(),
      ElementsAre("Write a summary of 2 files? | notes/a.txt, notes/b.md"));
  EXPECT_EQ(StepLines(report)[4],
            "[ok] Confirm(\"Write a summary of 2 files?\"): approved");
  ASSERT_THAT(report.summary, SizeIs(2));
}

TEST_F(AgentTest, AQuestionWaitsForTheClientEvenPastTheGracePeriod) {
  sserpc::ServerOptions server_options;
  server_options.resume_grace = absl::Milliseconds(200);
  server_options.liveness_check = absl::Milliseconds(50);
  StartServer(server_options);
  SilentConfirmer away;
  std::unique_ptr<WorkspaceTools> first_tools = Tools(away);
  sserpc::Client* first = Connect(first_tools.get());

  RunInBackground("summarize notes");
  ASSERT_TRUE(away.asked.WaitForNotificationWithTimeout(absl::Seconds(10)));
  first->Stop(absl::ZeroDuration());
  // Wait until the grace period is over: only the Confirm, made with
  // wait_for_client, keeps the client known ("absent"). The server has no
  // notification for this, so look.
  bool absent = false;
  for (int i = 0; i < 1000 && !absent && !run_over_.HasBeenNotified(); ++i) {
    for (const sserpc::ClientInfo& c : server_->Clients()) {
      absent |= c.client_id == kClient && c.state == "absent";
    }
    if (!absent) absl::SleepFor(absl::Milliseconds(10));
  }
  if (run_over_.HasBeenNotified()) {
    FAIL() << "the run ended with the grace period:\n"
           << WaitForRun().ToString();
  }
  ASSERT_TRUE(absent);

  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> second_tools = Tools(yes);
  Connect(second_tools.get());
  AgentReport report = WaitForRun();

  EXPECT_EQ(report.outcome, Outcome::kCompleted) << report.ToString();
  EXPECT_THAT(yes.asked(), SizeIs(1));
}

TEST_F(AgentTest, CancellingTheRunWithdrawsTheQuestion) {
  SilentConfirmer silent;
  std::unique_ptr<WorkspaceTools> tools = Tools(silent);
  Connect(tools.get());
  AgentOptions options;
  options.cancellation = std::make_shared<sserpc::Cancellation>();

  RunInBackground("summarize notes", options);
  ASSERT_TRUE(silent.asked.WaitForNotificationWithTimeout(absl::Seconds(10)));
  options.cancellation->Cancel(
      absl::CancelledError("the back end is stopping"));
  AgentReport report = WaitForRun();

  EXPECT_EQ(report.outcome, Outcome::kFailed);
  EXPECT_EQ(report.status.code(), absl::StatusCode::kCancelled);
  ASSERT_TRUE(silent.ended.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(silent.ended_with().code(), absl::StatusCode::kCancelled);
}

TEST_F(AgentTest, AClientThatNeverConnectsEndsTheRunAfterTheConnectTimeout) {
  AgentOptions options;
  options.connect_timeout = absl::Milliseconds(200);

  AgentReport report = Run(rule_planner_, "summarize notes", options);

  EXPECT_EQ(report.outcome, Outcome::kFailed);
  EXPECT_EQ(report.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(report.status.message(),
              HasSubstr("client laptop did not connect"));
}

TEST_F(AgentTest, TheRunStartsWhenTheClientConnectsLater) {
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  RunInBackground("summarize notes");
  Connect(tools.get());
  AgentReport report = WaitForRun();
  EXPECT_EQ(report.outcome, Outcome::kCompleted) << report.ToString();
}

TEST_F(AgentTest, ATaskThePlannerDoesNotUnderstandCallsNothing) {
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  Connect(tools.get());

  AgentReport report = Run(rule_planner_, "delete everything");

  EXPECT_EQ(report.outcome, Outcome::kFailed);
  EXPECT_EQ(report.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(progress(), IsEmpty());
}

TEST_F(AgentTest, ADirectoryOutsideTheRootEndsTheRunAsPermissionDenied) {
  RecordingConfirmer yes(true);
  std::unique_ptr<WorkspaceTools> tools = Tools(yes);
  Connect(tools.get());

  AgentReport report = Run(rule_planner_, "summarize ../outside");

  EXPECT_EQ(report.outcome, Outcome::kFailed);
  EXPECT_EQ(report.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(yes.asked(), IsEmpty());
}

}  // namespace
}  // namespace agent
