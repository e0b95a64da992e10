#include "client/server_url.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sserpc::client_internal {

absl::StatusOr<ServerUrl> ParseServerUrl(absl::string_view url) {
  absl::string_view rest = url;
  std::string scheme;
  if (absl::ConsumePrefix(&rest, "http://")) {
    scheme = "http://";
  } else if (absl::ConsumePrefix(&rest, "https://")) {
    scheme = "https://";
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "server URL must start with http:// or https://: \"", url, "\""));
  }
  size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  absl::string_view path =
      slash == absl::string_view::npos ? "" : rest.substr(slash);
  if (authority.empty() || absl::StrContains(authority, "@") ||
      absl::StrContains(authority, " ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("server URL has no usable host: \"", url, "\""));
  }
  if (absl::StrContains(rest, "?") || absl::StrContains(rest, "#")) {
    return absl::InvalidArgumentError(
        absl::StrCat("server URL must not carry a query: \"", url, "\""));
  }
  while (absl::ConsumeSuffix(&path, "/")) {
  }
  return ServerUrl{absl::StrCat(scheme, authority), std::string(path)};
}

}  // namespace sserpc::client_internal
