// agent_client: the user's side of the agent example. Serves the
// agent.tools.v1.Workspace tools for one directory (--root) to the agent
// back end, asks the person at this terminal when the agent wants a yes or
// no (or answers for them with --auto-confirm=yes|no), and runs until
// SIGINT/SIGTERM. A question open when it stops is asked again by its next
// run (same --client-id), if that comes before the question's deadline.
//
// Exit codes: 0 stopped by a signal, 2 bad flags or cannot start.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent_tools.sserpc.h"
#include "examples/agent/confirmer.h"
#include "examples/agent/workspace_root.h"
#include "examples/agent/workspace_tools.h"
#include "sserpc/client/client.h"
#include "sserpc/proto/flag_names.h"
#include "sserpc/proto/stop_signals.h"

ABSL_FLAG(std::string, server, "http://127.0.0.1:8080", "Server URL.");
ABSL_FLAG(std::string, client_id, "agent-laptop", "This client's id.");
ABSL_FLAG(std::string, token, "", "Bearer token, if the server wants one.");
ABSL_FLAG(std::string, root, "",
          "The workspace directory (required). The agent can list and read "
          "what is under it, and nothing else.");
ABSL_FLAG(std::string, auto_confirm, "ask",
          "How to answer the agent's questions: ask (on this terminal), "
          "yes or no (at once, for scripts and tests).");

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "agent_client: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  sserpc::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  sserpc::BlockStopSignals();  // before any thread starts

  const std::string mode = absl::GetFlag(FLAGS_auto_confirm);
  std::unique_ptr<agent::Confirmer> confirmer;
  if (mode == "ask") {
    confirmer =
        std::make_unique<agent::TerminalConfirmer>(STDIN_FILENO, stderr);
  } else if (mode == "yes" || mode == "no") {
    confirmer = std::make_unique<agent::FixedConfirmer>(mode == "yes", stderr);
  } else {
    return Fail("--auto-confirm must be yes, no or ask, not \"" + mode + "\"");
  }
  if (absl::GetFlag(FLAGS_root).empty()) return Fail("--root is required");
  absl::StatusOr<agent::WorkspaceRoot> root =
      agent::WorkspaceRoot::Open(absl::GetFlag(FLAGS_root));
  if (!root.ok()) return Fail(root.status().ToString());
  const std::string root_path = root->path();

  agent::WorkspaceTools tools(
      *std::move(root), *confirmer,
      [](absl::string_view message, double fraction) {
        std::fprintf(stderr, "[client] progress %3.0f%%  %.*s\n",
                     fraction * 100, static_cast<int>(message.size()),
                     message.data());
      });
  sserpc::ClientOptions options;
  options.server_url = absl::GetFlag(FLAGS_server);
  options.client_id = absl::GetFlag(FLAGS_client_id);
  options.token = absl::GetFlag(FLAGS_token);
  sserpc::Client client(options);
  absl::Status s = agent::tools::v1::Workspace::Register(client, &tools);
  if (s.ok()) s = client.Start();
  if (!s.ok()) return Fail(s.ToString());
  std::fprintf(stderr, "[client] %s serving workspace %s to %s (confirm: %s)\n",
               options.client_id.c_str(), root_path.c_str(),
               options.server_url.c_str(), mode.c_str());
  sserpc::WaitForStopSignal();
  // A question interrupted by the stop is not answered (the handler returns
  // the interruption itself), so the call stays pending on the server and
  // the next run of this client (same --client-id) is asked again; answers
  // already made get two seconds to reach the server.
  client.Stop();
  return 0;
}
