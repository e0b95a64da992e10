// hello_server: a server process that calls a client through the C++ API and
// prints every outcome, then stops by itself. Used by scripts/demo.sh.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "proto/flag_names.h"
#include "server/server.h"

ABSL_FLAG(int, port, 0, "Port to listen on (0: any free port).");
ABSL_FLAG(std::string, client_id, "demo-laptop", "The client to call.");

namespace {

void Show(const std::string& what, const sserpc::CallResult& r) {
  if (r.ok()) {
    std::printf("[server] %-44s -> %s\n", what.c_str(), r->c_str());
  } else {
    std::printf("[server] %-44s -> %s\n", what.c_str(),
                r.status().ToString().c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  sserpc::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  sserpc::Server server;
  absl::StatusOr<int> port = server.Start("127.0.0.1", absl::GetFlag(FLAGS_port));
  if (!port.ok()) {
    std::fprintf(stderr, "hello_server: %s\n", port.status().ToString().c_str());
    return 1;
  }
  std::printf("LISTENING %d\n", *port);
  std::fflush(stdout);
  const std::string client = absl::GetFlag(FLAGS_client_id);

  // Wait for the client: a call with wait_for_client holds until it connects.
  sserpc::CallOptions wait;
  wait.wait_for_client = true;
  wait.timeout = absl::Seconds(20);
  Show("SayHello(Ada), waiting for the client",
       server.Call(client, "demo.Greeter/SayHello", R"({"name":"Ada"})", wait));

  Show("SayHello(Grace)",
       server.Call(client, "demo.Greeter/SayHello", R"({"name":"Grace"})"));
  Show("SayHello({}) -> the client's own error",
       server.Call(client, "demo.Greeter/SayHello", "{}"));
  Show("Unknown method",
       server.Call(client, "demo.Greeter/Teleport", "{}"));

  sserpc::CallOptions short_deadline;
  short_deadline.timeout = absl::Milliseconds(1500);
  Show("Countdown(5) with a 1.5 s deadline",
       server.Call(client, "demo.Greeter/Countdown", R"({"seconds":5})",
                   short_deadline));

  // Cancel a running call from another thread.
  sserpc::CallOptions cancellable;
  cancellable.cancellation = std::make_shared<sserpc::Cancellation>();
  absl::Notification done;
  server.CallAsync(client, "demo.Greeter/Countdown", R"({"seconds":5})",
                   cancellable, [&](sserpc::CallResult r) {
                     Show("Countdown(5), cancelled after 1.2 s", r);
                     done.Notify();
                   });
  absl::SleepFor(absl::Milliseconds(1200));
  cancellable.cancellation->Cancel(absl::CancelledError("the user changed their mind"));
  done.WaitForNotification();

  Show("SayHello to a client that is not connected",
       server.Call("nobody", "demo.Greeter/SayHello", R"({"name":"?"})"));

  for (const sserpc::ClientInfo& c : server.Clients()) {
    std::printf("[server] client %s: %s, %llu calls sent, %llu answered, %llu failed\n",
                c.client_id.c_str(), c.state.c_str(),
                static_cast<unsigned long long>(c.calls_sent),
                static_cast<unsigned long long>(c.calls_answered),
                static_cast<unsigned long long>(c.calls_failed));
  }
  server.Stop();
  return 0;
}
