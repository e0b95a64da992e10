#include "examples/agent/workspace_root.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace agent {
namespace {

// Symlinks followed in one resolution before it is called a loop (Linux's
// own limit).
constexpr int kMaxSymlinks = 40;

std::string Quoted(absl::string_view s) {
  return absl::StrCat("\"", absl::Utf8SafeCEscape(s), "\"");
}

std::vector<std::string> Components(absl::string_view path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

std::string ErrorText(int error) {
  char buf[256];
  // GNU strerror_r: returns the message, in `buf` or a static string.
  return strerror_r(error, buf, sizeof(buf));
}

}  // namespace

absl::Status ErrnoStatus(int error, absl::string_view operation,
                         absl::string_view path) {
  const std::string message =
      absl::StrCat(operation, " ", Quoted(path), ": ", ErrorText(error));
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENAMETOOLONG:
      return absl::InvalidArgumentError(message);
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<WorkspaceRoot> WorkspaceRoot::Open(absl::string_view dir) {
  if (dir.empty())
    return absl::InvalidArgumentError("the workspace root is empty");
  const std::string name(dir);
  char real[PATH_MAX];
  if (realpath(name.c_str(), real) == nullptr) {
    return ErrnoStatus(errno, "workspace root", name);
  }
  struct stat st;
  if (stat(real, &st) != 0) return ErrnoStatus(errno, "workspace root", name);
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("workspace root ", Quoted(name), " is not a directory"));
  }
  return WorkspaceRoot(real);
}

bool WorkspaceRoot::Contains(absl::string_view real_path) const {
  if (real_path == root_) return true;
  if (root_ == "/") return absl::StartsWith(real_path, "/");
  return absl::StartsWith(real_path, root_) &&
         real_path.size() > root_.size() && real_path[root_.size()] == '/';
}

absl::StatusOr<std::string> WorkspaceRoot::Resolve(
    absl::string_view path) const {
  if (absl::StrContains(path, '\0')) {
    return absl::InvalidArgumentError("the path contains a NUL byte");
  }
  if (path.size() >= PATH_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("the path is longer than ", PATH_MAX - 1, " bytes"));
  }
  if (absl::StartsWith(path, "/")) {
    return absl::PermissionDeniedError(
        absl::StrCat("absolute path ", Quoted(path),
                     " refused: paths are relative to the workspace root"));
  }
  const std::vector<std::string> parts = Components(path);
  std::deque<std::string> todo(parts.begin(), parts.end());
  std::string current = root_;  // real, inside the root, a directory
  int links = 0;
  while (!todo.empty()) {
    const std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (current == root_) {
        return absl::PermissionDeniedError(
            absl::StrCat(Quoted(path), " leads outside the workspace root"));
      }
      current.resize(std::max<size_t>(current.rfind('/'), 1));
      continue;
    }
    std::string next = current == "/" ? absl::StrCat("/", part)
                                      : absl::StrCat(current, "/", part);
    struct stat st;
    if (lstat(next.c_str(), &st) != 0) return ErrnoStatus(errno, "path", path);
    if (!S_ISLNK(st.st_mode)) {
      current = std::move(next);
      continue;
    }
    if (++links > kMaxSymlinks) {
      return absl::FailedPreconditionError(
          absl::StrCat(Quoted(path), ": too many levels of symbolic links"));
    }
    char target[PATH_MAX];
    const ssize_t n = readlink(next.c_str(), target, sizeof(target));
    if (n < 0) return ErrnoStatus(errno, "path", path);
    if (static_cast<size_t>(n) >= sizeof(target)) {
      return absl::InvalidArgumentError(
          absl::StrCat(Quoted(path), ": a symlink's target is too long"));
    }
    absl::string_view to(target, static_cast<size_t>(n));
    if (absl::StartsWith(to, "/")) {
      // Absolute targets stay allowed when they name a place in the root.
      if (!Contains(to)) {
        return absl::PermissionDeniedError(absl::StrCat(
            Quoted(path),
            " leads outside the workspace root (through a symlink)"));
      }
      current = root_;
      to.remove_prefix(root_ == "/" ? 0 : root_.size());
    }
    // The target's components, then what was left of the path. `current`
    // stays the link's directory, which a relative target starts from.
    std::vector<std::string> spliced = Components(to);
    todo.insert(todo.begin(), spliced.begin(), spliced.end());
  }
  return current;
}

}  // namespace agent
