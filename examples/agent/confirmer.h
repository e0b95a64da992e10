#ifndef SSERPC_EXAMPLES_AGENT_CONFIRMER_H_
#define SSERPC_EXAMPLES_AGENT_CONFIRMER_H_

#include <cstdio>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sserpc/client/call_context.h"
#include "sserpc/proto/sync.h"

namespace agent {

// Gets a person's yes or no for a Confirm call.
class Confirmer {
 public:
  virtual ~Confirmer() = default;

  // Asks `question` (`details` may be empty) and returns true for yes, false
  // for no. Must return soon after `ctx` is cancelled, with
  // ctx.cancel_status(). Called on client worker threads, possibly for
  // several calls at once.
  virtual absl::StatusOr<bool> Confirm(sserpc::CallContext& ctx,
                                       absl::string_view question,
                                       absl::string_view details) = 0;
};

// Answers every question the same way, at once (--auto-confirm=yes|no).
class FixedConfirmer final : public Confirmer {
 public:
  // When `log` is not null, each question and its answer are written to it;
  // it must outlive this object.
  explicit FixedConfirmer(bool answer, FILE* log = nullptr)
      : answer_(answer), log_(log) {}

  absl::StatusOr<bool> Confirm(sserpc::CallContext& ctx,
                               absl::string_view question,
                               absl::string_view details) override;

 private:
  const bool answer_;
  FILE* const log_;
};

// Asks on a terminal (--auto-confirm=ask): writes the question to `out` and
// reads a line from `in_fd` ("y"/"yes" or "n"/"no", any case; anything else
// asks again). One question at a time: a second call waits for the first,
// or for its own cancellation. A call that is cancelled while waiting for
// the person returns at once and says the question was withdrawn. When
// `in_fd` reaches its end, this and every later call fails
// FAILED_PRECONDITION (nobody can answer).
class TerminalConfirmer final : public Confirmer {
 public:
  // `in_fd` and `out` are not owned and must outlive this object.
  TerminalConfirmer(int in_fd, FILE* out) : in_fd_(in_fd), out_(out) {}

  absl::StatusOr<bool> Confirm(sserpc::CallContext& ctx,
                               absl::string_view question,
                               absl::string_view details) override;

 private:
  // Next line from in_fd_, or the call's end: ctx.cancel_status() once
  // `wake_fd` is readable, FAILED_PRECONDITION at the input's end.
  // REQUIRES: this thread holds the terminal (busy_).
  absl::StatusOr<std::string> ReadLine(sserpc::CallContext& ctx, int wake_fd);

  const int in_fd_;
  FILE* const out_;

  sserpc::Mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // a question is being asked
  // Touched only by the thread holding the terminal (busy_ set by it).
  std::string pending_;  // bytes read past the last line
  bool at_end_ = false;  // in_fd_ reached its end
};

}  // namespace agent

#endif  // SSERPC_EXAMPLES_AGENT_CONFIRMER_H_
