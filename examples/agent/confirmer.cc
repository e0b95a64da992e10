#include "examples/agent/confirmer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace agent {
namespace {

// A line longer than this is not an answer; it is dropped.
constexpr size_t kMaxLine = 1024;

absl::Status ErrnoError(absl::string_view what) {
  char buf[256];
  return absl::InternalError(
      absl::StrCat(what, ": ", strerror_r(errno, buf, sizeof(buf))));
}

}  // namespace

absl::StatusOr<bool> FixedConfirmer::Confirm(sserpc::CallContext& ctx,
                                             absl::string_view question,
                                             absl::string_view details) {
  if (log_ != nullptr) {
    std::fprintf(log_, "[client] confirm: %s -> %s (automatic)\n",
                 std::string(question).c_str(), answer_ ? "yes" : "no");
    std::fflush(log_);
  }
  return answer_;
}

absl::StatusOr<bool> TerminalConfirmer::Confirm(sserpc::CallContext& ctx,
                                                absl::string_view question,
                                                absl::string_view details) {
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError("pipe2");
  sserpc::Cancellation& cancellation = ctx.cancellation();
  // On cancellation: make a caller waiting for the terminal re-check its
  // condition (an sserpc::Mutex re-evaluates conditions when released), and
  // wake the poll in ReadLine.
  const uint64_t callback = cancellation.AddCallback([this, fd = wake[1]] {
    { sserpc::MutexLock lock(&mu_); }
    const char byte = 1;
    if (write(fd, &byte, 1) < 0) {
      // Full pipe: a wake-up is already pending.
    }
  });
  absl::Cleanup close_wake = [&] {
    cancellation.RemoveCallback(callback);  // waits if it is running
    close(wake[0]);
    close(wake[1]);
  };

  // One question at a time on the terminal.
  {
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !busy_ || cancellation.IsCancelled();
    };
    sserpc::MutexLock lock(&mu_, sserpc::Condition(&ready));
    if (cancellation.IsCancelled()) return ctx.cancel_status();
    busy_ = true;
  }
  absl::Cleanup release = [this] {
    sserpc::MutexLock lock(&mu_);
    busy_ = false;
  };

  std::string prompt = absl::StrCat("\n[agent asks] ", question, "\n");
  if (!details.empty()) absl::StrAppend(&prompt, "  about: ", details, "\n");
  const absl::Duration left = ctx.deadline() - absl::Now();
  if (left > absl::ZeroDuration() && left < absl::InfiniteDuration()) {
    absl::StrAppend(&prompt, "  (answer within ",
                    absl::FormatDuration(absl::Trunc(left, absl::Seconds(1))),
                    ")\n");
  }
  prompt += "  [y/n] ";
  std::fputs(prompt.c_str(), out_);
  std::fflush(out_);

  while (true) {
    absl::StatusOr<std::string> line = ReadLine(ctx, wake[0]);
    if (!line.ok()) {
      std::fprintf(out_, "\n  (question withdrawn: %s)\n",
                   line.status().ToString().c_str());
      std::fflush(out_);
      return line.status();
    }
    // A terminal echoes what was typed; a pipe does not, so say it here.
    if (!isatty(in_fd_)) std::fprintf(out_, "%s\n", line->c_str());
    const std::string answer =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(*line));
    if (answer == "y" || answer == "yes") return true;
    if (answer == "n" || answer == "no") return false;
    std::fputs("  please answer y or n: ", out_);
    std::fflush(out_);
  }
}

absl::StatusOr<std::string> TerminalConfirmer::ReadLine(
    sserpc::CallContext& ctx, int wake_fd) {
  while (true) {
    if (ctx.IsCancelled()) return ctx.cancel_status();
    const size_t newline = pending_.find('\n');
    if (newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    if (at_end_) {
      if (!pending_.empty()) return std::exchange(pending_, "");
      return absl::FailedPreconditionError(
          "nobody can answer: the terminal's input is closed");
    }
    if (pending_.size() > kMaxLine) pending_.clear();
    pollfd fds[2] = {{in_fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("poll");
    }
    if (fds[1].revents != 0) continue;  // cancelled: checked at the top
    if (fds[0].revents == 0) continue;
    char buf[256];
    const ssize_t n = read(in_fd_, buf, sizeof(buf));
    if (n > 0) {
      pending_.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      at_end_ = true;
    } else if (errno != EINTR && errno != EAGAIN) {
      return ErrnoError("read");
    }
  }
}

}  // namespace agent
