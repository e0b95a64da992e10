#include "proto/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace sserpc {
namespace {

bool IsIdentStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

// Random bytes are drawn from getrandom() a block at a time; a call id costs
// 16 bytes of the block, not a system call.
class RandomPool {
 public:
  void Fill(unsigned char* out, size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    if (used_ + n > sizeof(block_)) {
      size_t got = 0;
      while (got < sizeof(block_)) {
        ssize_t r = getrandom(block_ + got, sizeof(block_) - got, 0);
        if (r < 0) {
          if (errno == EINTR) continue;
          abort();  // No entropy source: ids would be guessable.
        }
        got += static_cast<size_t>(r);
      }
      used_ = 0;
    }
    std::memcpy(out, block_ + used_, n);
    std::memset(block_ + used_, 0, n);
    used_ += n;
  }

 private:
  std::mutex mu_;
  unsigned char block_[4096];
  size_t used_ = sizeof(block_);
};

}  // namespace

absl::Status ValidateClientId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxClientIdLength) {
    return absl::InvalidArgumentError(
        "client id must be 1-128 characters of [A-Za-z0-9._-]");
  }
  for (char c : id) {
    if (!(IsIdentChar(c) || c == '.' || c == '-')) {
      return absl::InvalidArgumentError(
          "client id must be 1-128 characters of [A-Za-z0-9._-]");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMethodName(absl::string_view method) {
  // The error is made only when needed: this runs for every call.
  const auto bad = [] {
    return absl::InvalidArgumentError(
        "method must look like \"package.Service/Method\"");
  };
  if (method.empty() || method.size() > kMaxMethodLength) return bad();
  size_t slash = method.find('/');
  if (slash == absl::string_view::npos) return bad();
  absl::string_view service = method.substr(0, slash);
  absl::string_view name = method.substr(slash + 1);
  if (name.empty() || !IsIdentStart(name[0])) return bad();
  for (char c : name) {
    if (!IsIdentChar(c)) return bad();
  }
  bool at_start = true;
  for (char c : service) {
    if (c == '.') {
      if (at_start) return bad();
      at_start = true;
    } else if (at_start ? IsIdentStart(c) : IsIdentChar(c)) {
      at_start = false;
    } else {
      return bad();
    }
  }
  if (at_start) return bad();  // empty service or trailing dot
  return absl::OkStatus();
}

std::string NewCallId() {
  static RandomPool* const pool = new RandomPool();
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char bytes[16];
  pool->Fill(bytes, sizeof(bytes));
  std::string id(22, '\0');
  // 128 bits -> 22 base64url digits (the last one carries 2 bits).
  size_t out = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      id[out++] = kAlphabet[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) id[out++] = kAlphabet[(acc << (6 - bits)) & 0x3F];
  return id;
}

}  // namespace sserpc
