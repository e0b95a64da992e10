#ifndef SSERPC_PROTO_LOG_H_
#define SSERPC_PROTO_LOG_H_

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

// A minimal logger (Debian's abseil has no absl/log). Lines go to stderr,
// whole, prefixed with the level. SSERPC_LOG_LEVEL=debug|info|warn|error
// in the environment picks the threshold (default: warn).
namespace sserpc {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, absl::string_view message);

}  // namespace sserpc

#define SSERPC_LOG(level, ...)                                       \
  do {                                                               \
    if (::sserpc::LogEnabled(::sserpc::LogLevel::level)) {           \
      ::sserpc::LogLine(::sserpc::LogLevel::level,                   \
                        ::absl::StrCat(__VA_ARGS__));                \
    }                                                                \
  } while (0)

#endif  // SSERPC_PROTO_LOG_H_
