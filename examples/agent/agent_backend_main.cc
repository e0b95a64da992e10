// agent_backend: the server side of the agent example. Starts an sserpc
// server, waits for the client --client-id, runs one task (--task) on it
// with the Agent and the deterministic RulePlanner, and prints the report.
// SIGINT/SIGTERM during the run cancels it (the client's open question is
// withdrawn). With --keep-serving it then keeps serving (the calls endpoint,
// for sserpc-trigger) until SIGINT/SIGTERM.
//
// Prints "LISTENING <port>" first. Exit codes: 0 the task completed, 1 it
// failed, 2 bad flags or cannot start, 3 the user declined.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/time.h"
#include "agent_tools.sserpc.h"
#include "examples/agent/agent.h"
#include "examples/agent/planner.h"
#include "sserpc/proto/cancellation.h"
#include "sserpc/proto/flag_names.h"
#include "sserpc/server/server.h"

ABSL_FLAG(int, port, 8080,
          "Port to listen on, on 127.0.0.1 (0: any free port).");
ABSL_FLAG(std::string, client_id, "agent-laptop", "The client to work with.");
ABSL_FLAG(std::string, task, "",
          "The task (required), e.g. \"summarize the notes in notes\".");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(30),
          "How long to wait for the client to connect.");
ABSL_FLAG(absl::Duration, tool_timeout, absl::Seconds(5),
          "Deadline of a machine tool call (ListDir, ReadFile, Progress).");
ABSL_FLAG(absl::Duration, confirm_timeout, absl::Minutes(10),
          "Deadline of a question to the person (Confirm).");
ABSL_FLAG(int64_t, max_file_bytes, 64 << 10, "Bytes read per file.");
ABSL_FLAG(bool, keep_serving, false,
          "After the run, keep serving until SIGINT/SIGTERM.");

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "agent_backend: %s\n", message.c_str());
  return 2;
}

int ExitCode(agent::Outcome outcome) {
  switch (outcome) {
    case agent::Outcome::kCompleted:
      return 0;
    case agent::Outcome::kDeclined:
      return 3;
    case agent::Outcome::kFailed:
      return 1;
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  sserpc::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  // Blocked before any thread starts, so every thread inherits the mask and
  // only sigwait() below takes them. SIGUSR1 says the run is over.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const agent::Task task{absl::GetFlag(FLAGS_task)};
  if (task.text.empty()) return Fail("--task is required");
  agent::AgentOptions options;
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  options.tool_timeout = absl::GetFlag(FLAGS_tool_timeout);
  options.confirm_timeout = absl::GetFlag(FLAGS_confirm_timeout);
  options.max_file_bytes = absl::GetFlag(FLAGS_max_file_bytes);
  options.cancellation = std::make_shared<sserpc::Cancellation>();
  if (absl::Status valid = agent::ValidateAgentOptions(options); !valid.ok()) {
    return Fail(valid.ToString());
  }

  sserpc::Server server;
  absl::StatusOr<int> port =
      server.Start("127.0.0.1", absl::GetFlag(FLAGS_port));
  if (!port.ok()) return Fail(port.status().ToString());
  std::printf("LISTENING %d\n", *port);
  std::fflush(stdout);

  const std::string client_id = absl::GetFlag(FLAGS_client_id);
  std::fprintf(stderr, "[backend] waiting for client %s; task: %s\n",
               client_id.c_str(), task.text.c_str());
  agent::tools::v1::Workspace::Caller workspace(server);
  agent::RulePlanner planner;
  agent::Agent agent(workspace, planner, options);
  agent::AgentReport report;
  std::thread run([&] {
    report = agent.Run(client_id, task);
    kill(getpid(), SIGUSR1);
  });
  int sig = 0;
  sigwait(&signals, &sig);
  if (sig != SIGUSR1) {
    options.cancellation->Cancel(
        absl::CancelledError("the back end was interrupted"));
  }
  run.join();

  std::printf("%s", report.ToString().c_str());
  std::fflush(stdout);
  if (absl::GetFlag(FLAGS_keep_serving) && sig == SIGUSR1) {
    std::fprintf(
        stderr, "[backend] run over; serving on port %d until SIGINT/SIGTERM\n",
        *port);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigwait(&stop, &sig);
  }
  server.Stop();
  return ExitCode(report.outcome);
}
