// hello_client: a client process with two handlers, for the demo.
//   demo.Greeter/SayHello  {"name": "..."}  ->  {"message": "Hello, ...!"}
//   demo.Greeter/Countdown {"seconds": N}   ->  counts down; stops early when
//                                               the caller cancels or times out
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "proto/flag_names.h"
#include "proto/json.h"

ABSL_FLAG(std::string, server, "http://127.0.0.1:8080", "Server URL.");
ABSL_FLAG(std::string, client_id, "demo-laptop", "This client's id.");
ABSL_FLAG(std::string, token, "", "Bearer token, if the server wants one.");

namespace {

// Reads a string member of a flat JSON object, for the demo's tiny payloads.
std::string Member(absl::string_view json_text, absl::string_view name) {
  std::string out;
  (void)sserpc::json::ForEachMember(
      json_text, [&](absl::string_view key, absl::string_view value) {
        if (key == name) {
          if (!value.empty() && value[0] == '"') {
            (void)sserpc::json::ParseStringValue(value, &out);
          } else {
            out = std::string(value);
          }
        }
        return absl::OkStatus();
      });
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  sserpc::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);  // a client-only process must do this itself
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  sserpc::ClientOptions options;
  options.server_url = absl::GetFlag(FLAGS_server);
  options.client_id = absl::GetFlag(FLAGS_client_id);
  options.token = absl::GetFlag(FLAGS_token);
  sserpc::Client client(options);

  client.Register("demo.Greeter/SayHello",
                  [](sserpc::CallContext& ctx, absl::string_view req) {
                    std::string name = Member(req, "name");
                    if (name.empty()) {
                      return absl::StatusOr<std::string>(
                          absl::InvalidArgumentError("name is required"));
                    }
                    std::string out = "{\"message\":";
                    sserpc::json::AppendQuoted(
                        absl::StrCat("Hello, ", name, "! (from ", ctx.client_id(), ")"),
                        &out);
                    out += "}";
                    return absl::StatusOr<std::string>(out);
                  });
  client.Register("demo.Greeter/Countdown",
                  [](sserpc::CallContext& ctx, absl::string_view req) {
                    int seconds = 0;
                    absl::SimpleAtoi(Member(req, "seconds"), &seconds);
                    for (int i = seconds; i > 0; --i) {
                      std::fprintf(stderr, "[client] countdown %d\n", i);
                      if (ctx.cancellation().WaitWithTimeout(absl::Seconds(1))) {
                        std::fprintf(stderr, "[client] countdown stopped: %s\n",
                                     ctx.cancel_status().ToString().c_str());
                        return absl::StatusOr<std::string>(ctx.cancel_status());
                      }
                    }
                    return absl::StatusOr<std::string>("{\"done\":true}");
                  });

  absl::Status started = client.Start();
  if (!started.ok()) {
    std::fprintf(stderr, "hello_client: %s\n", started.ToString().c_str());
    return 2;
  }
  std::fprintf(stderr, "[client] %s connecting to %s\n",
               options.client_id.c_str(), options.server_url.c_str());
  int sig = 0;
  sigwait(&stop_signals, &sig);
  client.Stop();
  return 0;
}
