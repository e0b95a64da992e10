// sserpc-server: the standalone relay. It serves the wire protocol with no
// compiled-in schema, so back ends in any language call connected clients
// through its calls endpoint.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/flag_names.h"
#include "proto/ids.h"
#include "proto/stop_signals.h"
#include "server/server.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int, port, 8080, "Port to listen on; 0 picks a free port.");
ABSL_FLAG(std::string, client_tokens, "",
          "File of '<client_id> <token>' lines. When given, every client "
          "needs its token and unknown clients are refused.");
ABSL_FLAG(std::string, admin_token, "",
          "Token the calls endpoint and the client list require (visible in "
          "the process list: prefer --admin-token-file or "
          "$SSERPC_ADMIN_TOKEN).");
ABSL_FLAG(std::string, admin_token_file, "",
          "File whose first line is the admin token.");
ABSL_FLAG(bool, allow_insecure_non_loopback, false,
          "Listen on a non-loopback address without tokens.");
ABSL_FLAG(int64_t, heartbeat_ms, 15000, "Longest silence on a stream.");
ABSL_FLAG(int64_t, resume_grace_ms, 30000,
          "How long a disconnected client's calls wait for it to resume.");
ABSL_FLAG(int64_t, default_timeout_ms, 30000,
          "Timeout of calls that give none.");

namespace {

absl::StatusOr<std::map<std::string, std::string>> ReadTokens(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::map<std::string, std::string> tokens;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    absl::string_view l = absl::StripAsciiWhitespace(line);
    if (l.empty() || l[0] == '#') continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(l, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (parts.size() != 2 || !sserpc::ValidateClientId(parts[0]).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", n, ": expected '<client_id> <token>'"));
    }
    tokens[std::string(parts[0])] = std::string(parts[1]);
  }
  if (tokens.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no tokens"));
  }
  return tokens;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "sserpc-server --host 127.0.0.1 --port N [--client-tokens FILE] "
      "[--admin-token TOKEN]\nServes the sserpc wire protocol v1 "
      "(docs/PROTOCOL.md). Flag names take '-' or '_'.");
  sserpc::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);

  sserpc::ServerOptions options;
  if (!absl::GetFlag(FLAGS_client_tokens).empty()) {
    auto tokens = ReadTokens(absl::GetFlag(FLAGS_client_tokens));
    if (!tokens.ok()) {
      std::fprintf(stderr, "sserpc-server: %s\n",
                   std::string(tokens.status().message()).c_str());
      return 2;
    }
    options.client_tokens = *std::move(tokens);
  }
  options.admin_token = absl::GetFlag(FLAGS_admin_token);
  if (const std::string file = absl::GetFlag(FLAGS_admin_token_file); !file.empty()) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line) ||
        absl::StripAsciiWhitespace(line).empty()) {
      std::fprintf(stderr, "sserpc-server: cannot read a token from %s\n",
                   file.c_str());
      return 2;
    }
    options.admin_token = std::string(absl::StripAsciiWhitespace(line));
  } else if (options.admin_token.empty() &&
             std::getenv("SSERPC_ADMIN_TOKEN") != nullptr) {
    options.admin_token = std::getenv("SSERPC_ADMIN_TOKEN");
  }
  options.allow_insecure_non_loopback =
      absl::GetFlag(FLAGS_allow_insecure_non_loopback);
  options.heartbeat = absl::Milliseconds(absl::GetFlag(FLAGS_heartbeat_ms));
  options.resume_grace =
      absl::Milliseconds(absl::GetFlag(FLAGS_resume_grace_ms));
  options.default_timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_default_timeout_ms));
  if (options.heartbeat <= absl::ZeroDuration() ||
      options.resume_grace < absl::ZeroDuration() ||
      options.default_timeout <= absl::ZeroDuration()) {
    std::fprintf(stderr, "sserpc-server: durations must be positive\n");
    return 2;
  }

  sserpc::BlockStopSignals();  // before any thread starts

  sserpc::Server server(options);
  const std::string host = absl::GetFlag(FLAGS_host);
  absl::StatusOr<int> port = server.Start(host, absl::GetFlag(FLAGS_port));
  if (!port.ok()) {
    std::fprintf(stderr, "sserpc-server: %s\n",
                 std::string(port.status().message()).c_str());
    return 1;
  }
  std::printf("LISTENING %d\n", *port);
  std::fflush(stdout);
  std::fprintf(stderr, "sserpc-server: serving http://%s:%d/sserpc/v1/\n",
               host.c_str(), *port);

  sserpc::WaitForStopSignal();
  std::fprintf(stderr, "sserpc-server: stopping\n");
  server.Stop();
  return 0;
}
