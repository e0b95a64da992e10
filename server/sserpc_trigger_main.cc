// sserpc-trigger: calls a connected client through a server's calls endpoint
// from the command line. Exit codes are listed in docs/TRIGGER.md.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <httplib.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "proto/envelope.h"
#include "proto/flag_names.h"
#include "proto/ids.h"
#include "proto/json.h"
#include "proto/status_codes.h"

ABSL_FLAG(std::string, server, "http://127.0.0.1:8080",
          "The sserpc server, as http://host:port.");
ABSL_FLAG(std::string, client, "", "Id of the client to call.");
ABSL_FLAG(int64_t, timeout_ms, 30000, "Deadline of the call, in milliseconds.");
ABSL_FLAG(bool, wait, false,
          "If the client is not connected, wait for it until the deadline.");
ABSL_FLAG(std::string, admin_token, "",
          "Admin token, if the server requires one (or $SSERPC_ADMIN_TOKEN).");
ABSL_FLAG(bool, list, false, "List the clients the server knows, as JSON.");

namespace {

// Exit codes (docs/TRIGGER.md).
constexpr int kExitUsage = 2;        // bad flags, URL or payload JSON
constexpr int kExitUnreachable = 3;  // no server answering at --server
constexpr int kExitProtocol = 4;     // an answer that is not the protocol's
constexpr int kExitStatusBase = 10;  // + gRPC code number of the outcome

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "sserpc-trigger: %s\n", message.c_str());
  return code;
}

int FailStatus(const absl::Status& status) {
  std::fprintf(stderr, "%s: %s\n", sserpc::StatusCodeName(status.code()).c_str(),
               std::string(status.message()).c_str());
  return kExitStatusBase + static_cast<int>(status.code());
}

// Splits http://host:port[/prefix]; false if it is not such a URL.
bool ParseUrl(const std::string& url, std::string* scheme_host_port,
              std::string* prefix) {
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return false;  // https needs a TLS build of cpp-httplib: not this one
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (authority.empty() || authority.find_first_of("@?# ") != std::string::npos) {
    return false;
  }
  *scheme_host_port = "http://" + authority;
  *prefix = slash == std::string::npos ? "" : rest.substr(slash);
  while (!prefix->empty() && prefix->back() == '/') prefix->pop_back();
  return true;
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out += absl::StrCat("%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Calls a method on a connected sserpc client.\n\n"
      "  sserpc-trigger --server http://127.0.0.1:8080 --client ID "
      "pkg.Service/Method '{\"json\":\"payload\"}' [--timeout-ms N] "
      "[--admin-token T] [--wait]\n"
      "  sserpc-trigger --server URL --list\n\n"
      "The payload '-' is read from standard input. The answer's JSON goes to "
      "stdout; a failure prints its status code and message on stderr and "
      "exits 10 + the gRPC code number (14 DEADLINE_EXCEEDED, 24 UNAVAILABLE, "
      "...); 2 is a usage error, 3 an unreachable server, 4 an answer outside "
      "the protocol. Flag names take '-' or '_'.");
  sserpc::HelpListsFlagsOf("sserpc_trigger_main.cc");
  sserpc::NormalizeFlagNames(argc, argv);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);

  std::string base, prefix;
  if (!ParseUrl(absl::GetFlag(FLAGS_server), &base, &prefix)) {
    return Fail(kExitUsage, absl::StrCat("--server must look like http://host:port, got \"",
                                         absl::GetFlag(FLAGS_server), "\""));
  }
  std::string token = absl::GetFlag(FLAGS_admin_token);
  if (token.empty() && std::getenv("SSERPC_ADMIN_TOKEN") != nullptr) {
    token = std::getenv("SSERPC_ADMIN_TOKEN");
  }
  httplib::Client http(base);
  http.set_connection_timeout(5, 0);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);

  if (absl::GetFlag(FLAGS_list)) {
    if (args.size() > 1) return Fail(kExitUsage, "--list takes no arguments");
    auto res = http.Get((prefix + "/sserpc/v1/clients").c_str(), headers);
    if (!res) {
      return Fail(kExitUnreachable, absl::StrCat("cannot reach ", base, " (",
                                                 httplib::to_string(res.error()), ")"));
    }
    if (res->status != 200) {
      return FailStatus(sserpc::ParseErrorBody(
          res->body, sserpc::CodeForHttpStatus(res->status)));
    }
    std::printf("%s\n", res->body.c_str());
    return 0;
  }

  if (args.size() != 3) {
    return Fail(kExitUsage,
                "expected a method and a payload: pkg.Service/Method '{...}' "
                "(see --help)");
  }
  const std::string client = absl::GetFlag(FLAGS_client);
  const std::string method = args[1];
  std::string payload = args[2];
  if (absl::Status s = sserpc::ValidateClientId(client); !s.ok()) {
    return Fail(kExitUsage, absl::StrCat("--client: ", s.message()));
  }
  if (absl::Status s = sserpc::ValidateMethodName(method); !s.ok()) {
    return Fail(kExitUsage, std::string(s.message()));
  }
  if (payload == "-") {
    payload.assign(std::istreambuf_iterator<char>(std::cin),
                   std::istreambuf_iterator<char>());
  }
  if (absl::Status s = sserpc::json::Validate(payload); !s.ok()) {
    return Fail(kExitUsage, absl::StrCat("the payload is not JSON: ", s.message()));
  }
  const int64_t timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  if (timeout_ms <= 0) return Fail(kExitUsage, "--timeout-ms must be positive");
  // The HTTP request must outlive the call's deadline.
  const time_t read_s = static_cast<time_t>(timeout_ms / 1000 + 10);
  http.set_read_timeout(read_s, 0);
  std::string path = absl::StrCat(prefix, "/sserpc/v1/clients/", client, "/calls/",
                                  UrlEncode(method), "?timeout_ms=", timeout_ms);
  if (absl::GetFlag(FLAGS_wait)) path += "&wait_for_client=true";
  auto res = http.Post(path.c_str(), headers, payload, "application/json");
  if (!res) {
    return Fail(kExitUnreachable, absl::StrCat("cannot reach ", base, " (",
                                               httplib::to_string(res.error()), ")"));
  }
  if (res->status == 200) {
    std::printf("%s\n", res->body.c_str());
    return 0;
  }
  absl::Status parsed = sserpc::ParseErrorBody(res->body, absl::StatusCode::kUnknown);
  if (parsed.code() == absl::StatusCode::kUnknown && parsed.message() == res->body) {
    return Fail(kExitProtocol, absl::StrCat("unexpected HTTP ", res->status,
                                            " from the server: ", res->body));
  }
  return FailStatus(parsed);
}
