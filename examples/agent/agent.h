#ifndef SSERPC_EXAMPLES_AGENT_AGENT_H_
#define SSERPC_EXAMPLES_AGENT_AGENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent_tools.sserpc.h"
#include "examples/agent/planner.h"
#include "sserpc/proto/cancellation.h"

namespace agent {

struct AgentOptions {
  // The run's first call (a Progress "starting" notice) waits this long for
  // the client to connect.
  absl::Duration connect_timeout = absl::Seconds(30);
  // Deadline of a machine tool call (ListDir, ReadFile, Progress): a tool
  // that has not answered by then is too slow, not thinking.
  absl::Duration tool_timeout = absl::Seconds(5);
  // Deadline of a question to a person (Confirm): people take minutes. The
  // call also waits for the client to come back (wait_for_client), so it
  // survives a reconnect, even one after the server's grace period.
  absl::Duration confirm_timeout = absl::Minutes(10);
  // Bytes asked for per ReadFile.
  int64_t max_file_bytes = 64 << 10;
  // Files read by one kReadListedFiles step; the others are recorded as
  // skipped.
  int max_files = 100;
  // Optional. Cancelling it ends the run's call in flight CANCELLED (the
  // client is told) and the run with it.
  std::shared_ptr<sserpc::Cancellation> cancellation;
};

// INVALID_ARGUMENT naming the first option out of range.
absl::Status ValidateAgentOptions(const AgentOptions& options);

enum class Outcome {
  kCompleted,  // every step done or skipped as its failure allowed
  kDeclined,   // the person answered no to a Confirm
  kFailed,     // the plan, a required step or the client failed
};
absl::string_view OutcomeName(Outcome outcome);  // "completed", ...

// One thing the agent did: a tool call, or a step of its own.
struct StepRecord {
  std::string action;   // e.g. ReadFile("notes/a.txt")
  absl::Status status;  // how it ended
  std::string note;     // what it meant: "120 bytes", "skipped: not found"
};

struct FileSummary {
  std::string path;
  int64_t bytes = 0;       // bytes read
  bool truncated = false;  // the file is longer than what was read
  int64_t lines = 0;
  int64_t words = 0;
  std::string first_line;  // first non-blank line, shortened, control
                           // characters replaced by spaces
};

struct AgentReport {
  std::string task;
  Outcome outcome = Outcome::kFailed;
  // OK when completed; ABORTED "user declined: ..." when declined;
  // otherwise the failing step's code with what it meant, e.g.
  // UNAVAILABLE "ReadFile(\"a.txt\"): the client is gone: ...".
  absl::Status status;
  std::vector<StepRecord> steps;
  std::vector<FileSummary> summary;  // filled by a kSummarize step

  // Several lines, for people.
  std::string ToString() const;
};

// What a tool call's failure means, in a few words ("the client is gone").
std::string MeaningOf(const absl::Status& status);

// Whether a tool call that failed with `status` ends the run. UNAVAILABLE
// (the client is gone: it did not come back within the server's grace
// period, or the server is stopping) and CANCELLED (the run was cancelled)
// end it whatever the step; any other failure ends it only for a required
// step (DEADLINE_EXCEEDED: a tool too slow; PERMISSION_DENIED: a path
// outside the client's root; NOT_FOUND, ...), and an optional step is
// recorded as skipped.
bool EndsRun(const absl::Status& status, bool step_required);

// Carries out tasks on one client's workspace: plans with a Planner, then
// calls the client's tools step by step through `workspace`, deciding after
// every failure whether to go on (EndsRun), and reports what happened. A
// Confirm is always required, and a "no" ends the run as kDeclined. After
// every step the client gets a Progress notice (best effort).
//
// Holds no state between runs; Run() may be called from several threads at
// once if the planner allows it.
class Agent {
 public:
  // `workspace` and `planner` must outlive this object.
  Agent(const tools::v1::Workspace::Caller& workspace, Planner& planner,
        AgentOptions options = {});

  // Plans `task` and runs the plan on client `client_id`. Blocks until the
  // run ends (at most about connect_timeout, plus confirm_timeout per
  // Confirm, plus tool_timeout per other call).
  AgentReport Run(absl::string_view client_id, const Task& task);

 private:
  const tools::v1::Workspace::Caller& workspace_;
  Planner& planner_;
  const AgentOptions options_;
};

}  // namespace agent

#endif  // SSERPC_EXAMPLES_AGENT_AGENT_H_
