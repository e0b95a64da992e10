#ifndef SSERPC_EXAMPLES_AGENT_WORKSPACE_TOOLS_H_
#define SSERPC_EXAMPLES_AGENT_WORKSPACE_TOOLS_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent_tools.sserpc.h"
#include "examples/agent/confirmer.h"
#include "examples/agent/workspace_root.h"
#include "sserpc/client/call_context.h"

namespace agent {

struct WorkspaceToolsOptions {
  // Most bytes one ReadFile returns, whatever it asks for. The answer is
  // base64 in JSON: keep 4/3 of it under the client's max_message_bytes.
  int64_t max_read_bytes = 1 << 20;
  // Most entries one ListDir returns (the first ones by name).
  int max_dir_entries = 4096;
};

// The client's side of agent.tools.v1.Workspace: runs the tools against a
// WorkspaceRoot (see there for what is refused) and asks a Confirmer.
// Thread-safe: the client runs its methods on several worker threads.
class WorkspaceTools final : public tools::v1::Workspace::Handler {
 public:
  // Runs for every Progress call, on a worker thread, possibly for several
  // at once.
  using ProgressSink =
      std::function<void(absl::string_view message, double fraction)>;

  // `confirmer` must outlive this object; `on_progress` may be empty.
  WorkspaceTools(WorkspaceRoot root, Confirmer& confirmer,
                 ProgressSink on_progress, WorkspaceToolsOptions options = {});

  absl::StatusOr<tools::v1::ListDirResponse> ListDir(
      sserpc::CallContext& ctx,
      const tools::v1::ListDirRequest& request) override;
  absl::StatusOr<tools::v1::ReadFileResponse> ReadFile(
      sserpc::CallContext& ctx,
      const tools::v1::ReadFileRequest& request) override;
  absl::StatusOr<tools::v1::ConfirmResponse> Confirm(
      sserpc::CallContext& ctx,
      const tools::v1::ConfirmRequest& request) override;
  absl::StatusOr<tools::v1::ProgressAck> Progress(
      sserpc::CallContext& ctx,
      const tools::v1::ProgressRequest& request) override;

  const WorkspaceRoot& root() const { return root_; }

 private:
  const WorkspaceRoot root_;
  Confirmer& confirmer_;
  const ProgressSink on_progress_;
  const WorkspaceToolsOptions options_;
};

}  // namespace agent

#endif  // SSERPC_EXAMPLES_AGENT_WORKSPACE_TOOLS_H_
