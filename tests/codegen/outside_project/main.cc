// Server and client in one process, through the installed package.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "greeter.sserpc.h"
#include "sserpc/client/client.h"
#include "sserpc/server/server.h"

class Greeter : public outside::Greeter::Handler {
 public:
  absl::StatusOr<outside::HelloReply> SayHello(
      sserpc::CallContext&, const outside::HelloRequest& request) override {
    outside::HelloReply reply;
    reply.set_message("Hello, " + request.name());
    return reply;
  }
};

int main() {
  sserpc::Server server;
  absl::StatusOr<int> port = server.Start("127.0.0.1", 0);
  if (!port.ok()) return 1;
  sserpc::ClientOptions options;
  options.server_url = absl::StrCat("http://127.0.0.1:", *port);
  options.client_id = "outside";
  sserpc::Client client(options);
  Greeter greeter;
  if (!outside::Greeter::Register(client, &greeter).ok() || !client.Start().ok() ||
      !client.WaitUntilConnected(absl::Seconds(10))) {
    return 2;
  }
  outside::HelloRequest request;
  request.set_name("Ada");
  absl::StatusOr<outside::HelloReply> reply =
      outside::Greeter::Caller(server).SayHello("outside", request);
  if (!reply.ok() || reply->message() != "Hello, Ada") return 3;
  std::printf("outside: %s\n", reply->message().c_str());
  client.Stop();
  server.Stop();
  return 0;
}
