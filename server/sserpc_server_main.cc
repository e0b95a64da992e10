// sserpc-server: the standalone relay. It serves the wire protocol with no
// compiled-in schema, so back ends in any language call connected clients
// through its calls endpoint.

#include <sys/resource.h>

#include <algorithm>
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
#include "server/options.h"
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
ABSL_FLAG(int64_t, max_connections, 30000,
          "Open connections served at once (each client holds two: stream "
          "and answers); more are refused with 429 at once. Capped to what "
          "RLIMIT_NOFILE allows (logged); the soft limit is raised toward "
          "the hard one first.");
ABSL_FLAG(int64_t, max_connections_per_peer, 0,
          "Open connections from one IP address; more are refused with 429. "
          "0 = no limit (clients behind one NAT or proxy share an address).");
ABSL_FLAG(int64_t, max_connections_per_second, 2000,
          "New connections admitted per second on average; more are refused "
          "with 429 (clients back off and retry). 0 = no limit.");
ABSL_FLAG(int64_t, connection_burst, 4000,
          "New connections admitted at once above max_connections_per_second.");
ABSL_FLAG(int64_t, max_request_head_time_ms, 10000,
          "A request's line and headers must arrive within this time (from "
          "the accept for a connection's first request), else 408 and the "
          "connection is closed: slow-loris protection.");
ABSL_FLAG(int64_t, max_request_head_bytes, 16384,
          "Largest request line plus headers; more is refused with 431 "
          "(at least 1024; a single line over 8192 bytes always is).");
ABSL_FLAG(int64_t, max_request_headers, 100,
          "Most header fields in a request; more are refused with 431.");

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

// Every connection is a file descriptor: a server sized for many clients
// needs more than the usual soft limit of 1024. Raising the soft limit up
// to the hard one is the program's call (the library only caps
// max_connections to what it finds, and says so).
void RaiseOpenFileLimit(size_t max_connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return;
  // Room for the connections plus the server's reserve (a tenth).
  const rlim_t wanted = static_cast<rlim_t>(max_connections) +
                        static_cast<rlim_t>(max_connections) / 9 + 64;
  if (rl.rlim_cur >= wanted) return;
  rlimit raised = rl;
  raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, rl.rlim_max);
  if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0) {
    std::fprintf(stderr, "sserpc-server: raised the open file limit from %llu to %llu\n",
                 static_cast<unsigned long long>(rl.rlim_cur),
                 static_cast<unsigned long long>(raised.rlim_cur));
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "sserpc-server --host 127.0.0.1 --port N [--client-tokens FILE] "
      "[--admin-token TOKEN]\nServes the sserpc wire protocol v1 "
      "(docs/PROTOCOL.md). Flag names take '-' or '_'.");
  sserpc::HelpListsFlagsOf("sserpc_server_main.cc");
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
  const int64_t limits[] = {absl::GetFlag(FLAGS_max_connections),
                            absl::GetFlag(FLAGS_max_connections_per_peer),
                            absl::GetFlag(FLAGS_max_connections_per_second),
                            absl::GetFlag(FLAGS_connection_burst),
                            absl::GetFlag(FLAGS_max_request_head_time_ms),
                            absl::GetFlag(FLAGS_max_request_head_bytes),
                            absl::GetFlag(FLAGS_max_request_headers)};
  for (int64_t v : limits) {
    if (v < 0) {
      std::fprintf(stderr, "sserpc-server: limits must not be negative\n");
      return 2;
    }
  }
  options.max_connections = static_cast<size_t>(limits[0]);
  options.max_connections_per_peer = static_cast<size_t>(limits[1]);
  options.max_connections_per_second = static_cast<size_t>(limits[2]);
  options.connection_burst = static_cast<size_t>(limits[3]);
  options.max_request_head_time = absl::Milliseconds(limits[4]);
  options.max_request_head_bytes = static_cast<size_t>(limits[5]);
  options.max_request_headers = static_cast<size_t>(limits[6]);
  if (absl::Status valid = sserpc::ValidateServerOptions(options); !valid.ok()) {
    std::fprintf(stderr, "sserpc-server: %s\n",
                 std::string(valid.message()).c_str());
    return 2;
  }
  RaiseOpenFileLimit(options.max_connections);

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
