#ifndef SSERPC_CLIENT_SERVER_URL_H_
#define SSERPC_CLIENT_SERVER_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sserpc::client_internal {

// "http://host:port/prefix" split the way cpp-httplib's Client wants it.
struct ServerUrl {
  std::string scheme_host_port;  // "http://127.0.0.1:8080"
  std::string path_prefix;       // "" or "/prefix" (no trailing slash)
};

// INVALID_ARGUMENT for anything but http:// or https:// with a host.
absl::StatusOr<ServerUrl> ParseServerUrl(absl::string_view url);

}  // namespace sserpc::client_internal

#endif  // SSERPC_CLIENT_SERVER_URL_H_
