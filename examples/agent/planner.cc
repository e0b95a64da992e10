#include "examples/agent/planner.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace agent {
namespace {

// Removes `prefix` (a lower-case word or phrase followed by a space or the
// end of the text) from the front of `text`, case-insensitively.
bool ConsumeWords(absl::string_view* text, absl::string_view prefix) {
  if (!absl::StartsWithIgnoreCase(*text, prefix)) return false;
  absl::string_view rest = text->substr(prefix.size());
  if (!rest.empty() && !absl::ascii_isspace(rest.front())) return false;
  *text = absl::StripLeadingAsciiWhitespace(rest);
  return true;
}

absl::string_view Unquote(absl::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') &&
      s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

}  // namespace

absl::StatusOr<std::vector<Step>> RulePlanner::Plan(const Task& task) {
  absl::string_view text = absl::StripAsciiWhitespace(task.text);
  if (!ConsumeWords(&text, "summarize") && !ConsumeWords(&text, "summarise")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot plan \"", task.text,
        "\": the rule planner understands \"summarize [the notes in] DIR\""));
  }
  if (!ConsumeWords(&text, "the notes in")) ConsumeWords(&text, "notes in");
  std::string dir(Unquote(absl::StripTrailingAsciiWhitespace(text)));
  if (dir.empty()) dir = ".";

  std::vector<Step> plan(4);
  plan[0].kind = Step::Kind::kListDir;
  plan[0].path = dir;
  plan[1].kind = Step::Kind::kReadListedFiles;
  plan[1].extensions = {".txt", ".md"};
  plan[2].kind = Step::Kind::kConfirm;
  plan[2].question = "Write a summary of {files}?";
  plan[3].kind = Step::Kind::kSummarize;
  return plan;
}

}  // namespace agent
