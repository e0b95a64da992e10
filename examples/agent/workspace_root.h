#ifndef SSERPC_EXAMPLES_AGENT_WORKSPACE_ROOT_H_
#define SSERPC_EXAMPLES_AGENT_WORKSPACE_ROOT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agent {

// The directory tree a client exposes, and the rule that keeps every path
// inside it. Immutable; thread-safe.
class WorkspaceRoot {
 public:
  // `dir` must be an existing directory; it is resolved to its real path.
  // INVALID_ARGUMENT if empty, NOT_FOUND if missing, FAILED_PRECONDITION if
  // not a directory.
  static absl::StatusOr<WorkspaceRoot> Open(absl::string_view dir);

  // Resolves `path`, relative to the root, to a real path inside the root:
  // components are taken one by one and symlinks are followed as the kernel
  // would, but any step out of the root is refused, whether or not what it
  // leads to exists. Errors, which name `path` but never the root:
  //   PERMISSION_DENIED   an absolute path; ".." above the root; a symlink
  //                       whose target is outside the root (an absolute
  //                       target must name the root's real path); a
  //                       directory the OS does not let us search
  //   NOT_FOUND           a component does not exist or is not a directory
  //   FAILED_PRECONDITION too many symlinks (a loop)
  //   INVALID_ARGUMENT    a NUL byte, or longer than PATH_MAX
  //
  // What is opened afterwards should be opened with O_NOFOLLOW, so a final
  // component swapped for a symlink meanwhile is refused. A directory
  // swapped for a symlink between this check and the open is not caught:
  // the root is assumed not to be rearranged by someone hostile while the
  // client runs.
  absl::StatusOr<std::string> Resolve(absl::string_view path) const;

  // The root's real path.
  const std::string& path() const { return root_; }

 private:
  explicit WorkspaceRoot(std::string root) : root_(std::move(root)) {}

  bool Contains(absl::string_view real_path) const;

  std::string root_;
};

// The status for an errno value from an operation on `path` (the path as the
// caller named it): ENOENT/ENOTDIR -> NOT_FOUND, EACCES/EPERM ->
// PERMISSION_DENIED, ENAMETOOLONG -> INVALID_ARGUMENT, EMFILE/ENFILE/ENOMEM
// -> RESOURCE_EXHAUSTED, others INTERNAL.
absl::Status ErrnoStatus(int error, absl::string_view operation,
                         absl::string_view path);

}  // namespace agent

#endif  // SSERPC_EXAMPLES_AGENT_WORKSPACE_ROOT_H_
