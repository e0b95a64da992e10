#include "proto/ids.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/sync.h"

namespace sserpc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::string_literals;  // NOLINT: "..."s keeps embedded NULs.

constexpr absl::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// ---------------------------------------------------------------------------
// Client ids.

TEST(ValidateClientIdTest, AcceptsLengthsOneTo128) {
  EXPECT_TRUE(ValidateClientId("a").ok());
  EXPECT_TRUE(ValidateClientId(std::string(127, 'a')).ok());
  EXPECT_TRUE(ValidateClientId(std::string(kMaxClientIdLength, 'z')).ok());
  EXPECT_EQ(kMaxClientIdLength, 128u);
}

TEST(ValidateClientIdTest, RejectsEmptyAndTooLong) {
  EXPECT_EQ(ValidateClientId("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateClientId(std::string(129, 'a')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateClientId(std::string(10000, 'a')).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateClientIdTest, AcceptsTheWholeCharset) {
  EXPECT_TRUE(ValidateClientId("ABCDEFGHIJKLMNOPQRSTUVWXYZ").ok());
  EXPECT_TRUE(ValidateClientId("abcdefghijklmnopqrstuvwxyz").ok());
  EXPECT_TRUE(ValidateClientId("0123456789").ok());
  EXPECT_TRUE(ValidateClientId("._-").ok());
  EXPECT_TRUE(ValidateClientId("worker-7.eu_west").ok());
  EXPECT_TRUE(ValidateClientId(".").ok());
  EXPECT_TRUE(ValidateClientId("..").ok());
}

TEST(ValidateClientIdTest, RejectsEveryOtherByte) {
  const std::string allowed =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const std::string id = "ok" + std::string(1, c) + "ok";
    const bool want_ok = allowed.find(c) != std::string::npos;
    EXPECT_EQ(ValidateClientId(id).ok(), want_ok) << "byte " << b;
  }
}

TEST(ValidateClientIdTest, RejectsUrlAndPathTricks) {
  for (absl::string_view bad :
       {"%0A", "a%2Fb", "a/b", "a b", "a\nb", "a\r", "\ta", "a:b", "a?b", "a#b",
        "a+b", "a~b", "a\\b", "caf\xC3\xA9", "\xF0\x9F\x98\x80"}) {
    EXPECT_EQ(ValidateClientId(bad).code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ValidateClientId("a\0b"s).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateClientIdTest, ErrorDoesNotEchoTheId) {
  const std::string id = "<script>alert(1)</script>";
  absl::Status s = ValidateClientId(id);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), Not(HasSubstr("script")));
}

// ---------------------------------------------------------------------------
// Method names.

TEST(ValidateMethodNameTest, AcceptsGrpcStyleNames) {
  for (absl::string_view ok :
       {"pkg.Service/Method", "Service/Method", "S/M", "a.b.c.Service/Method",
        "_p._S/_m", "p1.S2/M3", "my_pkg.v1.Echo_Service/Say_Hello", "A.B/C"}) {
    EXPECT_TRUE(ValidateMethodName(ok).ok()) << ok;
  }
}

TEST(ValidateMethodNameTest, RejectsMalformedNames) {
  for (absl::string_view bad : {"",
                                "/",
                                "/M",
                                "S/",
                                "S",
                                "SM",
                                "pkg./M",
                                ".pkg.S/M",
                                "p..S/M",
                                "pkg.S./M",
                                "pkg.S/",
                                "pkg.S/M/x",
                                "pkg.S//M",
                                "pkg.S/1M",
                                "1pkg.S/M",
                                "pkg.1S/M",
                                "pkg.S/M.x",
                                "p-x.S/M",
                                "pkg.S/M-x",
                                "pkg.S /M",
                                "pkg.S/ M",
                                "pkg.S/M ",
                                " pkg.S/M",
                                "pkg.S/M\n",
                                "pkg.S\n/M",
                                "pkg.S/M\r",
                                "pkg.S/M\t",
                                "pkg.S/M%0A",
                                "pkg.S/M?x=1",
                                "pkg.S/caf\xC3\xA9",
                                "p\xC3\xA9.S/M"}) {
    EXPECT_EQ(ValidateMethodName(bad).code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ValidateMethodName("pkg.S/M\0x"s).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ValidateMethodNameTest, EnforcesTheLengthLimit) {
  ASSERT_EQ(kMaxMethodLength, 256u);
  const std::string longest = "S/" + std::string(kMaxMethodLength - 2, 'M');
  EXPECT_TRUE(ValidateMethodName(longest).ok());
  EXPECT_EQ(ValidateMethodName(longest + "M").code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------
// Call ids.

TEST(NewCallIdTest, Is22CharactersOfBase64Url) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewCallId();
    ASSERT_EQ(id.size(), 22u) << id;
    for (char c : id) {
      ASSERT_NE(kBase64Url.find(c), absl::string_view::npos) << id;
    }
  }
}

TEST(NewCallIdTest, EncodesExactly128Bits) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewCallId();
    // The last digit carries the last 2 bits; its low 4 bits are padding.
    ASSERT_NE(absl::string_view("AQgw").find(id.back()),
              absl::string_view::npos)
        << id;
    std::string bytes;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(id, &bytes)) << id;
    ASSERT_EQ(bytes.size(), 16u) << id;
    ASSERT_EQ(absl::WebSafeBase64Escape(bytes), id);
  }
}

TEST(NewCallIdTest, TenThousandIdsAreDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(NewCallId());
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(NewCallIdTest, FirstDigitTakesEveryValue) {
  // A weak randomness check: 10000 draws of a uniform 6-bit digit miss one of
  // the 64 values with probability below 1e-60.
  std::set<char> first;
  for (int i = 0; i < 10000; ++i) first.insert(NewCallId()[0]);
  EXPECT_EQ(first.size(), 64u);
}

TEST(NewCallIdTest, IsDistinctAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  Mutex mu;
  std::set<std::string> ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < kPerThread; ++i) mine.push_back(NewCallId());
      MutexLock lock(&mu);
      ids.insert(mine.begin(), mine.end());
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace sserpc
