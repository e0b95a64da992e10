// libFuzzer target: the server's request path, end to end. Each input is
// sent as raw bytes on a new TCP connection to a real sserpc::Server running
// in this process (cpp-httplib's request parsing, our routing guards, auth,
// endpoint handlers, the replies decoder, the calls endpoint, and the answer
// POST's fast path with its fallback to httplib), and the
// response is read until the server closes or goes quiet. The server must
// neither crash (ASan/UBSan watch every thread) nor stop serving: every
// 256 inputs a health check must still succeed.
//
// The first input byte picks how the rest is written (all at once, or in two
// pieces around a split point) so that partial reads are exercised too.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/options.h"
#include "server/server.h"

namespace {

sserpc::Server* server = nullptr;
int port = 0;

int Connect() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void WriteAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early: fine
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// Reads until the server closes, or nothing comes for `quiet_ms` (an SSE
// stream or a kept-alive connection stays open), or 64 KiB arrived.
std::string ReadResponse(int fd, int quiet_ms) {
  std::string out;
  char buf[4096];
  while (out.size() < (64 << 10)) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, quiet_ms) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool Healthy() {
  int fd = Connect();
  if (fd < 0) return false;
  static const char kReq[] =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  WriteAll(fd, reinterpret_cast<const uint8_t*>(kReq), sizeof(kReq) - 1);
  std::string r = ReadResponse(fd, 2000);
  close(fd);
  return r.rfind("HTTP/1.1 200", 0) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sserpc::ServerOptions options;
  options.max_body_bytes = 64 << 10;  // inputs are small; keep memory small
  options.keep_alive_timeout = absl::Milliseconds(50);
  options.read_timeout = absl::Milliseconds(50);
  options.default_timeout = absl::Milliseconds(20);  // calls end quickly
  options.max_connections_per_second = 0;  // one connection per input
  server = new sserpc::Server(options);
  auto p = server->Start("127.0.0.1", 0);
  if (!p.ok()) {
    std::fprintf(stderr, "request_fuzz: %s\n", p.status().ToString().c_str());
    std::abort();
  }
  port = *p;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  ++data;
  --size;
  int fd = Connect();
  if (fd < 0) std::abort();  // the server stopped accepting
  if ((mode & 1) && size > 1) {
    const size_t split = 1 + (mode >> 1) % (size - 1);
    WriteAll(fd, data, split);
    ReadResponse(fd, 1);  // let the server see the first piece alone
    WriteAll(fd, data + split, size - split);
  } else {
    WriteAll(fd, data, size);
  }
  shutdown(fd, SHUT_WR);  // no more input: the server must finish or close
  ReadResponse(fd, 20);
  close(fd);
  static int runs = 0;
  if (++runs % 256 == 0 && !Healthy()) {
    std::fprintf(stderr, "request_fuzz: the server stopped serving\n");
    std::abort();
  }
  return 0;
}
