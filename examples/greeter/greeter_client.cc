// greeter_client: the client side of the demo. Implements demo.Greeter with
// the generated Handler and serves it until SIGINT/SIGTERM.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "greeter.sserpc.h"
#include "sserpc/client/client.h"
#include "sserpc/proto/flag_names.h"
#include "sserpc/proto/stop_signals.h"

ABSL_FLAG(std::string, server, "http://127.0.0.1:8080", "Server URL.");
ABSL_FLAG(std::string, client_id, "demo-laptop", "This client's id.");
ABSL_FLAG(std::string, token, "", "Bearer token, if the server wants one.");
ABSL_FLAG(bool, protobuf_payloads, true,
          "Ask for protobuf payloads: the server's typed calls then come in "
          "the protobuf binary format (JSON calls, e.g. from sserpc-trigger, "
          "stay JSON). --noprotobuf_payloads: JSON only.");

class Greeter final : public demo::Greeter::Handler {
 public:
  absl::StatusOr<demo::HelloReply> SayHello(
      sserpc::CallContext& ctx, const demo::HelloRequest& request) override {
    if (request.name().empty()) return absl::InvalidArgumentError("name is required");
    demo::HelloReply reply;
    reply.set_message(absl::StrCat("Hello, ", request.name(), "! (from ",
                                   ctx.client_id(), ")"));
    return reply;
  }

  absl::StatusOr<demo::CountdownReply> Countdown(
      sserpc::CallContext& ctx, const demo::CountdownRequest& request) override {
    for (int i = request.seconds(); i > 0; --i) {
      std::fprintf(stderr, "[client] countdown %d\n", i);
      if (ctx.cancellation().WaitWithTimeout(absl::Seconds(1))) {
        std::fprintf(stderr, "[client] countdown stopped: %s\n",
                     ctx.cancel_status().ToString().c_str());
        return ctx.cancel_status();
      }
    }
    demo::CountdownReply reply;
    reply.set_done(true);
    return reply;
  }
};

int main(int argc, char** argv) {
  sserpc::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  sserpc::BlockStopSignals();  // before any thread starts

  sserpc::ClientOptions options;
  options.server_url = absl::GetFlag(FLAGS_server);
  options.client_id = absl::GetFlag(FLAGS_client_id);
  options.token = absl::GetFlag(FLAGS_token);
  // Every handler here is generated (typed), so protobuf is allowed.
  options.protobuf_payloads = absl::GetFlag(FLAGS_protobuf_payloads);
  sserpc::Client client(options);
  Greeter greeter;
  absl::Status s = demo::Greeter::Register(client, &greeter);
  if (s.ok()) s = client.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "greeter_client: %s\n", s.ToString().c_str());
    return 2;
  }
  std::fprintf(stderr, "[client] %s serving demo.Greeter for %s (%s payloads)\n",
               options.client_id.c_str(), options.server_url.c_str(),
               options.protobuf_payloads ? "protobuf" : "JSON");
  sserpc::WaitForStopSignal();
  client.Stop();
  return 0;
}
