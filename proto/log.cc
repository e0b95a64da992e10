#include "proto/log.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"

namespace sserpc {
namespace {

LogLevel Threshold() {
  static const LogLevel level = [] {
    const char* env = std::getenv("SSERPC_LOG_LEVEL");
    std::string v = env == nullptr ? "" : absl::AsciiStrToLower(env);
    if (v == "debug") return LogLevel::kDebug;
    if (v == "info") return LogLevel::kInfo;
    if (v == "error") return LogLevel::kError;
    return LogLevel::kWarn;
  }();
  return level;
}

}  // namespace

bool LogEnabled(LogLevel level) { return level >= Threshold(); }

void LogLine(LogLevel level, absl::string_view message) {
  static constexpr const char* kNames[] = {"D", "I", "W", "E"};
  std::string line = absl::StrCat("[sserpc ", kNames[static_cast<int>(level)],
                                  "] ", message, "\n");
  // One write per line keeps lines from different threads whole.
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

}  // namespace sserpc
