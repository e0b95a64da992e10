// A process that embeds the server and starts other programs must not hand
// them its sockets: the listening socket and every accepted connection are
// close-on-exec (a child holding a client's stream would keep it open after
// the server closed it, and keep the port busy after the server exits).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "gtest/gtest.h"
#include "server/server.h"

namespace sserpc {
namespace {

// The descriptors a program started now would hold: `ls` lists its own.
std::string ChildDescriptors() {
  FILE* child = popen("ls -l /proc/self/fd", "r");
  if (child == nullptr) return "popen failed";
  std::string listing;
  char line[512];
  while (fgets(line, sizeof(line), child) != nullptr) listing += line;
  pclose(child);
  return listing;
}

// A connection of our own that is close-on-exec itself, with `request` sent
// and the start of the answer read.
int Open(int port, const std::string& request, std::string* answer) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size())) {
    close(fd);
    return -1;
  }
  char buf[512];
  ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n > 0) answer->assign(buf, static_cast<size_t>(n));
  return fd;
}

TEST(CloexecTest, ProgramsStartedByTheServerProcessInheritNoSocket) {
  Server server;
  const int port = server.Start("127.0.0.1", 0).value();
  std::string health;
  std::string stream;
  // A kept-alive connection and an open stream: both accepted sockets live.
  int a = Open(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &health);
  int b = Open(port,
               "GET /sserpc/v1/clients/c1/events HTTP/1.1\r\nHost: x\r\n"
               "Accept: text/event-stream\r\n\r\n",
               &stream);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  ASSERT_TRUE(absl::StartsWith(health, "HTTP/1.1 200")) << health;
  ASSERT_TRUE(absl::StartsWith(stream, "HTTP/1.1 200")) << stream;

  const std::string listing = ChildDescriptors();
  EXPECT_FALSE(absl::StrContains(listing, "socket:")) << listing;

  close(a);
  close(b);
  server.Stop();
}

// The same for a client's connections: its stream and its answer connection
// (open once it has answered a call). cpp-httplib makes the sockets it
// creates close-on-exec itself (only accepted ones were not); this keeps it
// so. The server in this process is close-on-exec already (the test above).
TEST(CloexecTest, ProgramsStartedByTheClientProcessInheritNoSocket) {
  Server server;
  const int port = server.Start("127.0.0.1", 0).value();
  ClientOptions options;
  options.server_url = absl::StrCat("http://127.0.0.1:", port);
  options.client_id = "c1";
  Client client(options);
  ASSERT_TRUE(client
                  .Register("pkg.S/M",
                            [](CallContext&, absl::string_view) {
                              return absl::StatusOr<std::string>("{}");
                            })
                  .ok());
  ASSERT_TRUE(client.Start().ok());
  ASSERT_TRUE(client.WaitUntilConnected(absl::Seconds(10)));
  ASSERT_TRUE(server.Call("c1", "pkg.S/M", "{}").ok());

  const std::string listing = ChildDescriptors();
  EXPECT_FALSE(absl::StrContains(listing, "socket:")) << listing;
  client.Stop();
  server.Stop();
}

}  // namespace
}  // namespace sserpc
