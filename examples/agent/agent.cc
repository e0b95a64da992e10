#include "examples/agent/agent.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace agent {
namespace {

namespace pb = ::agent::tools::v1;

constexpr size_t kMaxFirstLine = 72;

std::string Quoted(absl::string_view s) {
  return absl::StrCat("\"", absl::Utf8SafeCEscape(s), "\"");
}

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  if (dir.empty() || dir == ".") return std::string(name);
  if (absl::EndsWith(dir, "/")) return absl::StrCat(dir, name);
  return absl::StrCat(dir, "/", name);
}

bool HasExtension(absl::string_view name,
                  const std::vector<std::string>& extensions) {
  return std::any_of(extensions.begin(), extensions.end(),
                     [&](const std::string& ext) {
                       return absl::EndsWithIgnoreCase(name, ext);
                     });
}

FileSummary Summarize(std::string path, absl::string_view content,
                      bool truncated) {
  FileSummary s;
  s.path = std::move(path);
  s.bytes = static_cast<int64_t>(content.size());
  s.truncated = truncated;
  bool in_word = false;
  for (char c : content) {
    if (c == '\n') ++s.lines;
    const bool space = absl::ascii_isspace(static_cast<unsigned char>(c));
    if (!space && !in_word) ++s.words;
    in_word = !space;
  }
  if (!content.empty() && content.back() != '\n') ++s.lines;
  for (absl::string_view line : absl::StrSplit(content, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::string first(line.substr(0, kMaxFirstLine));
    for (char& c : first) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) c = ' ';
    }
    if (line.size() > kMaxFirstLine) first += "...";
    s.first_line = std::move(first);
    break;
  }
  return s;
}

// One run of a plan: the calls it makes and what it has learnt so far.
class PlanRun {
 public:
  PlanRun(const pb::Workspace::Caller& workspace, const AgentOptions& options,
          absl::string_view client_id, AgentReport* report)
      : workspace_(workspace),
        options_(options),
        client_id_(client_id),
        report_(*report) {}

  bool declined() const { return declined_; }

  // Tells the client the run starts, waiting for it to connect. OK to go on;
  // otherwise the run's final status (as for every method below).
  absl::Status Start(size_t steps) {
    pb::ProgressRequest request;
    request.set_message(absl::StrCat("starting: ", report_.task, " (", steps,
                                     steps == 1 ? " step)" : " steps)"));
    request.set_fraction(0);
    sserpc::CallOptions wait = ToolCall();
    wait.timeout = options_.connect_timeout;
    wait.wait_for_client = true;
    absl::StatusOr<pb::ProgressAck> r =
        workspace_.Progress(client_id_, request, wait);
    if (r.ok()) return absl::OkStatus();
    const std::string action = "Progress(starting)";
    if (r.status().code() == absl::StatusCode::kDeadlineExceeded) {
      // Without an answer we cannot tell a client that never came from one
      // whose Progress is slow; either way there is nobody to work with.
      Record(action, r.status(), "the client did not connect in time");
      return absl::DeadlineExceededError(absl::StrCat(
          "client ", client_id_, " did not connect (or answer) within ",
          absl::FormatDuration(options_.connect_timeout)));
    }
    // Any answer, even an error, means the client is there.
    return Failed(action, r.status(), /*required=*/false);
  }

  absl::Status Progress(size_t done, size_t steps) {
    pb::ProgressRequest request;
    if (report_.steps.empty()) {
      request.set_message(absl::StrCat("step ", done, " of ", steps, " done"));
    } else {
      const StepRecord& last = report_.steps.back();
      request.set_message(last.note.empty()
                              ? last.action
                              : absl::StrCat(last.action, ": ", last.note));
    }
    request.set_fraction(static_cast<double>(done) /
                         static_cast<double>(steps));
    absl::StatusOr<pb::ProgressAck> r =
        workspace_.Progress(client_id_, request, ToolCall());
    if (r.ok()) return absl::OkStatus();
    return Failed("Progress", r.status(), /*required=*/false);
  }

  absl::Status RunStep(const Step& step) {
    switch (step.kind) {
      case Step::Kind::kListDir:
        return ListDir(step);
      case Step::Kind::kReadListedFiles:
        return ReadListedFiles(step);
      case Step::Kind::kReadFile:
        return ReadFile(step.path, step.required);
      case Step::Kind::kConfirm:
        return Confirm(step);
      case Step::Kind::kSummarize:
        return SummarizeFiles(step);
    }
    return Failed(
        "unknown step",
        absl::InvalidArgumentError("the plan has a step of no known kind"),
        /*required=*/true);
  }

 private:
  struct ReadResult {
    std::string path;
    std::string content;
    bool truncated = false;
  };

  sserpc::CallOptions ToolCall() const {
    sserpc::CallOptions o;
    o.timeout = options_.tool_timeout;
    o.cancellation = options_.cancellation;
    return o;
  }

  sserpc::CallOptions HumanCall() const {
    sserpc::CallOptions o;
    o.timeout = options_.confirm_timeout;
    o.wait_for_client = true;  // a person's answer outlives a reconnect
    o.cancellation = options_.cancellation;
    return o;
  }

  void Record(std::string action, absl::Status status, std::string note) {
    report_.steps.push_back(
        {std::move(action), std::move(status), std::move(note)});
  }

  // Records a failed call or step and decides whether the run ends.
  absl::Status Failed(const std::string& action, const absl::Status& status,
                      bool required) {
    const std::string meaning = MeaningOf(status);
    if (!EndsRun(status, required)) {
      Record(action, status, absl::StrCat("skipped: ", meaning));
      return absl::OkStatus();
    }
    Record(action, status, meaning);
    return absl::Status(status.code(), absl::StrCat(action, ": ", meaning, ": ",
                                                    status.message()));
  }

  absl::Status ListDir(const Step& step) {
    const std::string action = absl::StrCat("ListDir(", Quoted(step.path), ")");
    pb::ListDirRequest request;
    request.set_path(step.path);
    absl::StatusOr<pb::ListDirResponse> r =
        workspace_.ListDir(client_id_, request, ToolCall());
    if (!r.ok()) return Failed(action, r.status(), step.required);
    listed_dir_ = step.path;
    listing_.assign(r->entries().begin(), r->entries().end());
    Record(
        action, absl::OkStatus(),
        absl::StrCat(listing_.size(), " entries",
                     r->truncated() ? " (the client cut the list short)" : ""));
    return absl::OkStatus();
  }

  absl::Status ReadListedFiles(const Step& step) {
    const std::string action = absl::StrCat(
        "ReadListedFiles(", absl::StrJoin(step.extensions, ", "), ")");
    std::vector<std::string> paths;
    for (const pb::DirEntry& e : listing_) {
      if ((e.kind() == pb::DirEntry::FILE ||
           e.kind() == pb::DirEntry::SYMLINK) &&
          HasExtension(e.name(), step.extensions)) {
        paths.push_back(JoinPath(listed_dir_, e.name()));
      }
    }
    const size_t matching = paths.size();
    if (paths.size() > static_cast<size_t>(options_.max_files)) {
      paths.resize(options_.max_files);
    }
    const size_t before = files_.size();
    for (const std::string& path : paths) {
      absl::Status s = ReadFile(path, /*required=*/false);
      if (!s.ok()) return s;
    }
    const size_t read = files_.size() - before;
    if (read == 0) {
      return Failed(action,
                    absl::NotFoundError(
                        absl::StrCat("no file could be read of the ", matching,
                                     " listed with those extensions")),
                    step.required);
    }
    std::string note = absl::StrCat("read ", read, " of ", matching, " files");
    if (matching > paths.size()) {
      absl::StrAppend(&note, "; skipped ", matching - paths.size(),
                      " beyond max_files");
    }
    Record(action, absl::OkStatus(), std::move(note));
    return absl::OkStatus();
  }

  absl::Status ReadFile(const std::string& path, bool required) {
    const std::string action = absl::StrCat("ReadFile(", Quoted(path), ")");
    pb::ReadFileRequest request;
    request.set_path(path);
    request.set_max_bytes(options_.max_file_bytes);
    absl::StatusOr<pb::ReadFileResponse> r =
        workspace_.ReadFile(client_id_, request, ToolCall());
    if (!r.ok()) return Failed(action, r.status(), required);
    Record(action, absl::OkStatus(),
           absl::StrCat(r->content().size(), " bytes",
                        r->truncated() ? " (truncated)" : ""));
    files_.push_back({path, std::move(*r->mutable_content()), r->truncated()});
    return absl::OkStatus();
  }

  absl::Status Confirm(const Step& step) {
    std::vector<std::string> paths;
    for (const ReadResult& f : files_) paths.push_back(f.path);
    pb::ConfirmRequest request;
    const std::string count = absl::StrCat(files_.size());
    request.set_question(absl::StrReplaceAll(
        step.question,
        {{"{count}", count},
         {"{files}",
          absl::StrCat(count, files_.size() == 1 ? " file" : " files")}}));
    request.set_details(absl::StrJoin(paths, ", "));
    const std::string action =
        absl::StrCat("Confirm(", Quoted(request.question()), ")");
    absl::StatusOr<pb::ConfirmResponse> r =
        workspace_.Confirm(client_id_, request, HumanCall());
    // Going on without the answer would act without the person's consent.
    if (!r.ok()) return Failed(action, r.status(), /*required=*/true);
    if (!r->approved()) {
      Record(action, absl::OkStatus(), "declined");
      declined_ = true;
      return absl::AbortedError(
          absl::StrCat("user declined: ", request.question()));
    }
    Record(action, absl::OkStatus(), "approved");
    return absl::OkStatus();
  }

  absl::Status SummarizeFiles(const Step& step) {
    if (files_.empty()) {
      return Failed("Summarize", absl::NotFoundError("no file was read"),
                    step.required);
    }
    for (const ReadResult& f : files_) {
      report_.summary.push_back(Summarize(f.path, f.content, f.truncated));
    }
    Record("Summarize", absl::OkStatus(),
           absl::StrCat(files_.size(), " files"));
    return absl::OkStatus();
  }

  const pb::Workspace::Caller& workspace_;
  const AgentOptions& options_;
  const std::string client_id_;
  AgentReport& report_;

  std::string listed_dir_;
  std::vector<pb::DirEntry> listing_;
  std::vector<ReadResult> files_;
  bool declined_ = false;
};

}  // namespace

absl::Status ValidateAgentOptions(const AgentOptions& options) {
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must be positive");
  }
  if (options.tool_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("tool_timeout must be positive");
  }
  if (options.confirm_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("confirm_timeout must be positive");
  }
  if (options.max_file_bytes <= 0) {
    return absl::InvalidArgumentError("max_file_bytes must be positive");
  }
  if (options.max_files <= 0) {
    return absl::InvalidArgumentError("max_files must be positive");
  }
  return absl::OkStatus();
}

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCompleted:
      return "completed";
    case Outcome::kDeclined:
      return "declined";
    case Outcome::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string MeaningOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return "done";
    case absl::StatusCode::kUnavailable:
      return "the client is gone";
    case absl::StatusCode::kCancelled:
      return "the run was cancelled";
    case absl::StatusCode::kDeadlineExceeded:
      return "no answer before the deadline";
    case absl::StatusCode::kPermissionDenied:
      return "refused by the client (outside its workspace root, or not "
             "readable)";
    case absl::StatusCode::kNotFound:
      return "not found";
    case absl::StatusCode::kFailedPrecondition:
      return "not possible on the client";
    case absl::StatusCode::kUnimplemented:
      return "the client does not have this tool";
    case absl::StatusCode::kInvalidArgument:
      return "malformed request";
    case absl::StatusCode::kResourceExhausted:
      return "a limit was hit";
    default:
      return "the tool failed";
  }
}

bool EndsRun(const absl::Status& status, bool step_required) {
  if (status.ok()) return false;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return step_required;
  }
}

std::string AgentReport::ToString() const {
  std::string out =
      absl::StrCat("task: ", task, "\noutcome: ", OutcomeName(outcome),
                   "\nstatus: ", status.ToString(), "\nsteps:\n");
  for (const StepRecord& s : steps) {
    absl::StrAppend(
        &out, "  [",
        s.status.ok() ? "ok" : absl::StatusCodeToString(s.status.code()), "] ",
        s.action);
    if (!s.note.empty()) absl::StrAppend(&out, ": ", s.note);
    if (!s.status.ok() && !s.status.message().empty()) {
      absl::StrAppend(&out, " (", s.status.message(), ")");
    }
    out += "\n";
  }
  if (!summary.empty()) {
    absl::StrAppend(&out, "summary (", summary.size(), " files):\n");
    for (const FileSummary& f : summary) {
      absl::StrAppend(&out, "  ", f.path, ": ", f.lines, " lines, ", f.words,
                      " words, ", f.bytes, f.truncated ? "+ bytes" : " bytes");
      if (!f.first_line.empty()) absl::StrAppend(&out, ": ", f.first_line);
      out += "\n";
    }
  }
  return out;
}

Agent::Agent(const tools::v1::Workspace::Caller& workspace, Planner& planner,
             AgentOptions options)
    : workspace_(workspace), planner_(planner), options_(std::move(options)) {}

AgentReport Agent::Run(absl::string_view client_id, const Task& task) {
  AgentReport report;
  report.task = task.text;
  report.status = ValidateAgentOptions(options_);
  if (!report.status.ok()) return report;

  absl::StatusOr<std::vector<Step>> plan = planner_.Plan(task);
  if (!plan.ok()) {
    report.steps.push_back(
        {"Plan", plan.status(), "the planner could not plan the task"});
    report.status = plan.status();
    return report;
  }
  if (plan->empty()) {
    report.status =
        absl::InvalidArgumentError("the planner returned an empty plan");
    return report;
  }

  PlanRun run(workspace_, options_, client_id, &report);
  absl::Status status = run.Start(plan->size());
  for (size_t i = 0; status.ok() && i < plan->size(); ++i) {
    status = run.RunStep((*plan)[i]);
    if (status.ok()) status = run.Progress(i + 1, plan->size());
  }
  report.status = status;
  report.outcome = status.ok()      ? Outcome::kCompleted
                   : run.declined() ? Outcome::kDeclined
                                    : Outcome::kFailed;
  return report;
}

}  // namespace agent
