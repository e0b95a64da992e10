#ifndef SSERPC_TESTS_AGENT_TEMP_DIR_H_
#define SSERPC_TESTS_AGENT_TEMP_DIR_H_

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace agent::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it
// when destroyed. Paths given to the helpers are relative to it.
class TempDir {
 public:
  TempDir() {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = absl::StrCat(
        tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/agent_test.XXXXXX");
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
    char real[PATH_MAX];
    path_ = made != nullptr && realpath(made, real) != nullptr ? real : pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Path(const std::string& rel) const {
    return absl::StrCat(path_, "/", rel);
  }

  void Mkdir(const std::string& rel) const {
    ASSERT_EQ(mkdir(Path(rel).c_str(), 0755), 0) << rel;
  }
  void Write(const std::string& rel, const std::string& content) const {
    std::ofstream out(Path(rel), std::ios::binary);
    out << content;
    ASSERT_TRUE(out.good()) << rel;
  }
  // Creates the symlink `rel` -> `target` (written as given).
  void Symlink(const std::string& target, const std::string& rel) const {
    ASSERT_EQ(symlink(target.c_str(), Path(rel).c_str()), 0) << rel;
  }

 private:
  std::string path_;
};

}  // namespace agent::testing

#endif  // SSERPC_TESTS_AGENT_TEMP_DIR_H_
