// greeter_server: the server side of the demo. Calls the client's
// demo.Greeter through the generated Caller and prints every outcome, then
// keeps serving (sserpc-trigger can call through it) until SIGINT/SIGTERM,
// or exits at once with --exit-after-calls.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "greeter.sserpc.h"
#include "sserpc/proto/flag_names.h"
#include "sserpc/proto/stop_signals.h"
#include "sserpc/proto/sync.h"
#include "sserpc/server/server.h"

ABSL_FLAG(int, port, 0, "Port to listen on (0: any free port).");
ABSL_FLAG(std::string, client_id, "demo-laptop", "The client to call.");
ABSL_FLAG(bool, exit_after_calls, false, "Stop once the demo calls are done.");

namespace {

template <typename T>
void Show(const std::string& what, const absl::StatusOr<T>& r) {
  std::printf("[server] %-40s -> %s\n", what.c_str(),
              r.ok() ? r->ShortDebugString().c_str() : r.status().ToString().c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  sserpc::NormalizeFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  sserpc::BlockStopSignals();  // before any thread starts

  sserpc::Server server;
  absl::StatusOr<int> port = server.Start("127.0.0.1", absl::GetFlag(FLAGS_port));
  if (!port.ok()) {
    std::fprintf(stderr, "greeter_server: %s\n", port.status().ToString().c_str());
    return 1;
  }
  std::printf("LISTENING %d\n", *port);
  std::fflush(stdout);
  const std::string client = absl::GetFlag(FLAGS_client_id);
  demo::Greeter::Caller greeter(server);

  demo::HelloRequest ada;
  ada.set_name("Ada");
  sserpc::CallOptions wait;  // hold the call until the client connects
  wait.wait_for_client = true;
  wait.timeout = absl::Seconds(20);
  Show("SayHello(Ada), waiting for the client", greeter.SayHello(client, ada, wait));

  demo::HelloRequest grace;
  grace.set_name("Grace");
  Show("SayHello(Grace)", greeter.SayHello(client, grace));
  Show("SayHello() without a name", greeter.SayHello(client, demo::HelloRequest()));

  demo::CountdownRequest five;
  five.set_seconds(5);
  sserpc::CallOptions short_deadline;
  short_deadline.timeout = absl::Milliseconds(1500);
  Show("Countdown(5) with a 1.5 s deadline",
       greeter.Countdown(client, five, short_deadline));

  sserpc::CallOptions cancellable;
  cancellable.cancellation = std::make_shared<sserpc::Cancellation>();
  sserpc::Notification done;
  greeter.CountdownAsync(client, five, cancellable,
                         [&](absl::StatusOr<demo::CountdownReply> r) {
                           Show("Countdown(5), cancelled after 1.2 s", r);
                           done.Notify();
                         });
  absl::SleepFor(absl::Milliseconds(1200));
  cancellable.cancellation->Cancel(absl::CancelledError("the user changed their mind"));
  done.WaitForNotification();

  Show("SayHello to a client that is not connected",
       greeter.SayHello("nobody", ada));
  std::printf("[server] demo calls done\n");
  std::fflush(stdout);

  if (!absl::GetFlag(FLAGS_exit_after_calls)) {
    sserpc::WaitForStopSignal();
  }
  server.Stop();
  return 0;
}
