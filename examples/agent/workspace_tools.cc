#include "examples/agent/workspace_tools.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace agent {
namespace {

namespace pb = ::agent::tools::v1;

std::string Quoted(absl::string_view s) {
  return absl::StrCat("\"", absl::Utf8SafeCEscape(s), "\"");
}

// Opens a resolved path without following a final symlink: one that
// appeared since Resolve() is refused.
absl::StatusOr<int> OpenResolved(const std::string& real_path, int flags,
                                 absl::string_view operation,
                                 absl::string_view path) {
  const int fd = open(real_path.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return fd;
  if (errno == ELOOP) {
    return absl::PermissionDeniedError(absl::StrCat(
        Quoted(path), " became a symlink while being opened; refused"));
  }
  if (errno == ENOTDIR && (flags & O_DIRECTORY) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(Quoted(path), " is not a directory"));
  }
  return ErrnoStatus(errno, operation, path);
}

pb::DirEntry::Kind KindOf(mode_t mode) {
  if (S_ISREG(mode)) return pb::DirEntry::FILE;
  if (S_ISDIR(mode)) return pb::DirEntry::DIRECTORY;
  if (S_ISLNK(mode)) return pb::DirEntry::SYMLINK;
  return pb::DirEntry::OTHER;
}

}  // namespace

WorkspaceTools::WorkspaceTools(WorkspaceRoot root, Confirmer& confirmer,
                               ProgressSink on_progress,
                               WorkspaceToolsOptions options)
    : root_(std::move(root)),
      confirmer_(confirmer),
      on_progress_(std::move(on_progress)),
      options_(options) {}

absl::StatusOr<pb::ListDirResponse> WorkspaceTools::ListDir(
    sserpc::CallContext& ctx, const pb::ListDirRequest& request) {
  absl::StatusOr<std::string> real = root_.Resolve(request.path());
  if (!real.ok()) return real.status();
  absl::StatusOr<int> fd =
      OpenResolved(*real, O_RDONLY | O_DIRECTORY, "list", request.path());
  if (!fd.ok()) return fd.status();
  DIR* dir = fdopendir(*fd);
  if (dir == nullptr) {
    const int error = errno;
    close(*fd);
    return ErrnoStatus(error, "list", request.path());
  }
  absl::Cleanup close_dir = [dir] { closedir(dir); };

  pb::ListDirResponse response;
  while (true) {
    errno = 0;
    const dirent* e = readdir(dir);
    if (e == nullptr) {
      if (errno != 0) return ErrnoStatus(errno, "list", request.path());
      break;
    }
    const absl::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    // An entry removed since readdir() is simply not listed.
    if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    pb::DirEntry* entry = response.add_entries();
    entry->set_name(std::string(name));
    entry->set_kind(KindOf(st.st_mode));
    if (S_ISREG(st.st_mode)) entry->set_size_bytes(st.st_size);
  }
  auto* entries = response.mutable_entries();
  std::sort(entries->begin(), entries->end(),
            [](const pb::DirEntry& a, const pb::DirEntry& b) {
              return a.name() < b.name();
            });
  if (entries->size() > options_.max_dir_entries) {
    entries->DeleteSubrange(options_.max_dir_entries,
                            entries->size() - options_.max_dir_entries);
    response.set_truncated(true);
  }
  return response;
}

absl::StatusOr<pb::ReadFileResponse> WorkspaceTools::ReadFile(
    sserpc::CallContext& ctx, const pb::ReadFileRequest& request) {
  if (request.max_bytes() < 0) {
    return absl::InvalidArgumentError("max_bytes must not be negative");
  }
  const int64_t limit =
      request.max_bytes() == 0
          ? options_.max_read_bytes
          : std::min(request.max_bytes(), options_.max_read_bytes);
  absl::StatusOr<std::string> real = root_.Resolve(request.path());
  if (!real.ok()) return real.status();
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
  // below anyway).
  absl::StatusOr<int> fd =
      OpenResolved(*real, O_RDONLY | O_NONBLOCK, "read", request.path());
  if (!fd.ok()) return fd.status();
  absl::Cleanup close_fd = [fd = *fd] { close(fd); };
  struct stat st;
  if (fstat(*fd, &st) != 0) return ErrnoStatus(errno, "read", request.path());
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        Quoted(request.path()),
        S_ISDIR(st.st_mode) ? " is a directory" : " is not a regular file"));
  }

  pb::ReadFileResponse response;
  std::string& content = *response.mutable_content();
  const size_t max = static_cast<size_t>(limit);
  char buf[16 << 10];
  while (content.size() < max) {
    if (ctx.IsCancelled()) return ctx.cancel_status();
    const ssize_t n =
        read(*fd, buf, std::min(sizeof(buf), max - content.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", request.path());
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  if (content.size() == max) {  // is there more?
    ssize_t n;
    do {
      n = read(*fd, buf, 1);
    } while (n < 0 && errno == EINTR);
    response.set_truncated(n > 0);
  }
  return response;
}

absl::StatusOr<pb::ConfirmResponse> WorkspaceTools::Confirm(
    sserpc::CallContext& ctx, const pb::ConfirmRequest& request) {
  if (request.question().empty()) {
    return absl::InvalidArgumentError("a question is required");
  }
  absl::StatusOr<bool> approved =
      confirmer_.Confirm(ctx, request.question(), request.details());
  if (!approved.ok()) return approved.status();
  pb::ConfirmResponse response;
  response.set_approved(*approved);
  return response;
}

absl::StatusOr<pb::ProgressAck> WorkspaceTools::Progress(
    sserpc::CallContext& ctx, const pb::ProgressRequest& request) {
  const double f = request.fraction();
  if (std::isnan(f) || f < 0 || f > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("fraction ", f, " is outside [0, 1]"));
  }
  if (on_progress_) on_progress_(request.message(), f);
  return pb::ProgressAck();
}

}  // namespace agent
