// agent_backend and agent_client, run as real processes on 127.0.0.1: the
// thin mains parse their flags, connect and report with the right exit code.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/temp_dir.h"
#include "tests/testing/process.h"

namespace agent {
namespace {

using ::agent::testing::TempDir;
using ::sserpc::testing::Process;
using ::testing::HasSubstr;

class AgentProgramsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.Mkdir("ws");
    tmp_.Mkdir("ws/notes");
    tmp_.Write("ws/notes/a.txt", "Buy milk\n");
    tmp_.Write("ws/notes/b.md", "# Review\n");
  }

  // Starts agent_backend on a free port with `task`; returns its port.
  int StartBackend(Process& backend) {
    std::string line = backend.Line();
    absl::string_view rest = line;
    int port = 0;
    EXPECT_TRUE(
        absl::ConsumePrefix(&rest, "LISTENING ") &&
        absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(rest), &port))
        << "first line: " << line;
    return port;
  }

  std::vector<std::string> BackendArgs(const std::string& task) {
    return {AGENT_BACKEND_BINARY, "--port=0", "--client-id=box",
            "--task=" + task, "--connect-timeout=20s"};
  }
  std::vector<std::string> ClientArgs(int port, const std::string& confirm) {
    return {AGENT_CLIENT_BINARY,
            absl::StrCat("--server=http://127.0.0.1:", port), "--client-id=box",
            "--root=" + tmp_.Path("ws"), "--auto-confirm=" + confirm};
  }

  TempDir tmp_;
};

TEST_F(AgentProgramsTest, CompletesATaskAndExitsZero) {
  Process backend(BackendArgs("summarize the notes in notes"));
  const int port = StartBackend(backend);
  Process client(ClientArgs(port, "yes"));
  EXPECT_EQ(backend.Finish(), 0) << backend.err();
  EXPECT_THAT(backend.out(), HasSubstr("outcome: completed"));
  EXPECT_THAT(backend.out(),
              HasSubstr("notes/a.txt: 1 lines, 2 words, 9 bytes: Buy milk"));
  client.Signal(SIGTERM);
  EXPECT_EQ(client.Finish(), 0) << client.err();
  EXPECT_THAT(client.err(),
              HasSubstr("confirm: Write a summary of 2 files? -> yes"));
  EXPECT_THAT(client.err(), HasSubstr("progress 100%  Summarize: 2 files"));
}

TEST_F(AgentProgramsTest, ADeclinedConfirmationExitsThree) {
  Process backend(BackendArgs("summarize notes"));
  Process client(ClientArgs(StartBackend(backend), "no"));
  EXPECT_EQ(backend.Finish(), 3) << backend.err();
  EXPECT_THAT(backend.out(), HasSubstr("outcome: declined"));
  client.Signal(SIGTERM);
  EXPECT_EQ(client.Finish(), 0);
}

TEST_F(AgentProgramsTest, AsksOnTheTerminal) {
  Process backend(BackendArgs("summarize notes"));
  Process client(ClientArgs(StartBackend(backend), "ask"), "what?\ny\n");
  EXPECT_EQ(backend.Finish(), 0) << backend.err();
  client.Signal(SIGTERM);
  EXPECT_EQ(client.Finish(), 0);
  EXPECT_THAT(client.err(),
              HasSubstr("[agent asks] Write a summary of 2 files?\n"
                        "  about: notes/a.txt, notes/b.md\n"));
  EXPECT_THAT(client.err(), HasSubstr("please answer y or n"));
}

TEST_F(AgentProgramsTest, AFailedRunExitsOne) {
  Process backend(BackendArgs("summarize ../elsewhere"));
  Process client(ClientArgs(StartBackend(backend), "yes"));
  EXPECT_EQ(backend.Finish(), 1) << backend.err();
  EXPECT_THAT(backend.out(), HasSubstr("status: PERMISSION_DENIED"));
  client.Signal(SIGTERM);
  EXPECT_EQ(client.Finish(), 0);
}

TEST_F(AgentProgramsTest, AQuestionSurvivesRestartingTheClientProcess) {
  Process backend(BackendArgs("summarize notes"));
  const int port = StartBackend(backend);
  // The first client asks on a "terminal" (a pipe the test keeps open and
  // never types into); its stderr is read through stdout to see the prompt.
  int terminal[2];
  ASSERT_EQ(pipe(terminal), 0);
  ASSERT_EQ(fcntl(terminal[1], F_SETFD, FD_CLOEXEC), 0);
  std::vector<std::string> argv = {
      "/bin/sh", "-c",
      absl::StrCat("exec \"$0\" \"$@\" 0<&", terminal[0], " ", terminal[0],
                   "<&- 2>&1")};
  for (std::string& a : ClientArgs(port, "ask")) argv.push_back(std::move(a));
  Process first(argv);
  close(terminal[0]);
  std::string line;
  do {
    line = first.Line();
  } while (!line.empty() && !absl::StrContains(line, "[agent asks]"));
  ASSERT_THAT(line, HasSubstr("Write a summary of 2 files?"));

  // The person closes that client (Ctrl-C) and starts it again, answering
  // for them this time: the question is asked again and the run completes.
  first.Signal(SIGTERM);
  EXPECT_EQ(first.Finish(), 0);
  Process second(ClientArgs(port, "yes"));
  EXPECT_EQ(backend.Finish(), 0) << backend.out() << backend.err();
  EXPECT_THAT(
      backend.out(),
      HasSubstr("[ok] Confirm(\"Write a summary of 2 files?\"): approved"));
  second.Signal(SIGTERM);
  EXPECT_EQ(second.Finish(), 0);
  EXPECT_THAT(second.err(),
              HasSubstr("confirm: Write a summary of 2 files? -> yes"));
  close(terminal[1]);
}

TEST_F(AgentProgramsTest, BadFlagsExitTwo) {
  Process no_task({AGENT_BACKEND_BINARY, "--port=0"});
  EXPECT_EQ(no_task.Finish(), 2);
  EXPECT_THAT(no_task.err(), HasSubstr("--task is required"));
  Process no_root({AGENT_CLIENT_BINARY, "--auto-confirm=yes"});
  EXPECT_EQ(no_root.Finish(), 2);
  EXPECT_THAT(no_root.err(), HasSubstr("--root is required"));
  Process bad_mode({AGENT_CLIENT_BINARY, "--root=" + tmp_.Path("ws"),
                    "--auto-confirm=maybe"});
  EXPECT_EQ(bad_mode.Finish(), 2);
  EXPECT_THAT(bad_mode.err(),
              HasSubstr("--auto-confirm must be yes, no or ask"));
  Process missing_root({AGENT_CLIENT_BINARY, "--root=" + tmp_.Path("nope")});
  EXPECT_EQ(missing_root.Finish(), 2);
  EXPECT_THAT(missing_root.err(), HasSubstr("NOT_FOUND"));
}

}  // namespace
}  // namespace agent
