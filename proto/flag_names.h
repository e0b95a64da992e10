#ifndef SSERPC_PROTO_FLAG_NAMES_H_
#define SSERPC_PROTO_FLAG_NAMES_H_

#include <string>

#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace sserpc {

// Lets the command-line tools take `--admin-token` as well as abseil's
// `--admin_token`: rewrites '-' to '_' in the name part of every "--name" or
// "--name=value" argument, in place, before absl::ParseCommandLine. Stops at
// a bare "--". Values are never touched.
void NormalizeFlagNames(int argc, char** argv);

// Makes --help list the flags defined in the source file whose path ends
// with `main_file` (abseil's default looks for a file named after the
// program, and ours have a '-' where their sources have a '_'). For the
// tools' main(), before absl::ParseCommandLine.
inline void HelpListsFlagsOf(std::string main_file) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [main_file](absl::string_view file) {
    return absl::EndsWith(file, main_file);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
}

}  // namespace sserpc

#endif  // SSERPC_PROTO_FLAG_NAMES_H_
