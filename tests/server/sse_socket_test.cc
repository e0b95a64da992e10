// SseSocket on a real socket pair: chunk framing, bytes kept when the
// socket is full and sent first, failures.
#include "server/sse_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace sserpc::server_internal {
namespace {

class SseSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
  }
  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }

  // Everything the peer can read now.
  std::string ReadAvailable() {
    std::string out;
    char buf[65536];
    while (true) {
      ssize_t n = ::recv(fds_[1], buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }

  static std::string Chunk(const std::string& data) {
    char head[24];
    std::snprintf(head, sizeof(head), "%zx\r\n", data.size());
    return absl::StrCat(head, data, "\r\n");
  }

  int fds_[2] = {-1, -1};
};

TEST_F(SseSocketTest, EachSendIsOneChunk) {
  SseSocket socket(fds_[0], absl::Seconds(1));
  socket.SendNow("data: x\n\n");
  EXPECT_TRUE(socket.Send(": heartbeat\n\n"));
  EXPECT_FALSE(socket.needs_writer());
  EXPECT_EQ(ReadAvailable(),
            absl::StrCat("9\r\ndata: x\n\n\r\n", "d\r\n: heartbeat\n\n\r\n"));
}

TEST_F(SseSocketTest, ChunkSizesAreLowercaseHexWithoutPadding) {
  SseSocket socket(fds_[0], absl::Seconds(1));
  for (size_t size : {1, 10, 15, 16, 17, 255, 256, 4095, 4096, 40000}) {
    const std::string data(size, 'x');
    ASSERT_TRUE(socket.Send(data)) << size;
    EXPECT_EQ(ReadAvailable(), Chunk(data)) << size;
  }
  // The size line alone, spelled out for a few.
  ASSERT_TRUE(socket.Send(std::string(171, 'y')));
  EXPECT_EQ(ReadAvailable().substr(0, 4), "ab\r\n");
  ASSERT_TRUE(socket.Send(std::string(4096, 'y')));
  EXPECT_EQ(ReadAvailable().substr(0, 6), "1000\r\n");
}

TEST_F(SseSocketTest, NothingToSendWritesNoChunk) {
  // An empty chunk would end the response body.
  SseSocket socket(fds_[0], absl::Seconds(1));
  socket.SendNow("");
  EXPECT_TRUE(socket.Send(""));
  EXPECT_EQ(ReadAvailable(), "");
}

TEST_F(SseSocketTest, WhatAFullSocketDoesNotTakeIsKeptAndSentFirst) {
  int small = 4096;
  ASSERT_EQ(::setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  SseSocket socket(fds_[0], absl::Seconds(30));
  const std::string big(1 << 20, 'b');
  socket.SendNow(big);  // far more than the socket holds
  EXPECT_TRUE(socket.needs_writer());
  socket.SendNow("second");  // queued behind, never interleaved
  EXPECT_TRUE(socket.needs_writer());

  std::string got;
  const std::string want = Chunk(big) + Chunk("second") + Chunk("third");
  std::thread reader([&] {
    char buf[65536];
    while (got.size() < want.size()) {
      ssize_t n = ::recv(fds_[1], buf, sizeof(buf), 0);
      if (n <= 0) return;
      got.append(buf, static_cast<size_t>(n));
    }
  });
  EXPECT_TRUE(socket.Send("third"));  // waits for room, in order
  reader.join();
  EXPECT_FALSE(socket.needs_writer());
  EXPECT_TRUE(got == want) << got.size() << " bytes of " << want.size();
}

TEST_F(SseSocketTest, APeerThatDoesNotReadFailsTheWriterAfterTheWriteTimeout) {
  int small = 4096;
  ASSERT_EQ(::setsockopt(fds_[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  SseSocket socket(fds_[0], absl::Milliseconds(50));
  EXPECT_FALSE(socket.Send(std::string(1 << 20, 'b')));
  EXPECT_TRUE(socket.needs_writer());  // the writer must end the stream
  EXPECT_FALSE(socket.Send("more"));
}

TEST_F(SseSocketTest, AClosedPeerIsForTheWriterToFind) {
  ::close(fds_[1]);
  fds_[1] = -1;
  SseSocket socket(fds_[0], absl::Seconds(1));
  socket.SendNow("data: x\n\n");  // no SIGPIPE, no blocking
  EXPECT_TRUE(socket.needs_writer());
  EXPECT_FALSE(socket.Send(""));
}

}  // namespace
}  // namespace sserpc::server_internal
