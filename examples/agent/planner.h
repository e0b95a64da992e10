#ifndef SSERPC_EXAMPLES_AGENT_PLANNER_H_
#define SSERPC_EXAMPLES_AGENT_PLANNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agent {

// What the person asked the agent to do, in their words.
struct Task {
  std::string text;
};

// One step of a plan. The agent runs the steps in order; what a failing step
// means for the run is decided by `required` (see Agent in agent.h).
struct Step {
  enum class Kind {
    // ListDir(path): remembers the entries for kReadListedFiles.
    kListDir,
    // ReadFile of every listed FILE or SYMLINK whose name ends with one of
    // `extensions` (case-insensitive), one tool call each. A file that fails
    // is recorded and skipped; the step itself fails (NOT_FOUND) when no
    // file could be read.
    kReadListedFiles,
    // ReadFile(path).
    kReadFile,
    // Confirm(question): in `question`, "{count}" becomes the number of
    // files read so far and "{files}" the same with its noun ("1 file",
    // "3 files"); the files' paths go in the request's details. Always
    // required (see Agent); a refusal ends the run ("user declined").
    kConfirm,
    // Summarizes the files read so far, without calling the client. Fails
    // (NOT_FOUND) when none were read.
    kSummarize,
  };

  Kind kind = Kind::kListDir;
  std::string path;                     // kListDir, kReadFile
  std::vector<std::string> extensions;  // kReadListedFiles, e.g. ".txt"
  std::string question;                 // kConfirm
  // A required step that fails ends the run; an optional one is recorded
  // and the run goes on.
  bool required = true;
};

// Turns a task into a plan. This is where an agent would ask a language
// model ("here is the task and the tools; answer with a plan"); nothing in
// the agent loop depends on how the plan was made. A planner must not
// assume anything about the paths it names: the client refuses the ones
// outside its root, and the agent carries on.
class Planner {
 public:
  virtual ~Planner() = default;

  // INVALID_ARGUMENT when the task cannot be planned; a model-backed planner
  // would also return its transport errors (UNAVAILABLE, DEADLINE_EXCEEDED).
  virtual absl::StatusOr<std::vector<Step>> Plan(const Task& task) = 0;
};

// A deterministic planner that understands one kind of task:
//
//   summarize DIR
//   summarize the notes in DIR       ("summarise" works too; DIR may be
//                                      quoted; no DIR means the root)
//
// -> ListDir(DIR), read every .txt and .md file in it, Confirm("Write a
//    summary of N files?"), Summarize. Stateless and thread-safe.
class RulePlanner final : public Planner {
 public:
  absl::StatusOr<std::vector<Step>> Plan(const Task& task) override;
};

}  // namespace agent

#endif  // SSERPC_EXAMPLES_AGENT_PLANNER_H_
