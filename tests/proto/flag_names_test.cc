#include "proto/flag_names.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sserpc {
namespace {

std::vector<std::string> Normalize(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  NormalizeFlagNames(static_cast<int>(argv.size()), argv.data());
  std::vector<std::string> out;
  for (char* a : argv) out.emplace_back(a);
  return out;
}

TEST(NormalizeFlagNamesTest, DashesInNamesBecomeUnderscoresAndValuesStay) {
  EXPECT_THAT(Normalize({"prog", "--admin-token=a-b", "--timeout-ms", "5",
                         "--client_tokens", "my-file", "-x", "pos-arg"}),
              ::testing::ElementsAre("prog", "--admin_token=a-b", "--timeout_ms",
                                     "5", "--client_tokens", "my-file", "-x",
                                     "pos-arg"));
}

TEST(NormalizeFlagNamesTest, StopsAtBareDoubleDash) {
  EXPECT_THAT(Normalize({"prog", "--a-b", "--", "--c-d"}),
              ::testing::ElementsAre("prog", "--a_b", "--", "--c-d"));
}

}  // namespace
}  // namespace sserpc
