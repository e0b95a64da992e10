#ifndef SSERPC_PROTO_IDS_H_
#define SSERPC_PROTO_IDS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sserpc {

inline constexpr size_t kMaxClientIdLength = 128;
inline constexpr size_t kMaxMethodLength = 256;

// Client ids are 1-128 characters of [A-Za-z0-9._-]. INVALID_ARGUMENT
// otherwise (the message never echoes the id, which may hold anything).
absl::Status ValidateClientId(absl::string_view client_id);

// Method names are "<package.Service>/<Method>": a service name of
// identifiers joined by dots, a slash, and one identifier, as gRPC names them.
absl::Status ValidateMethodName(absl::string_view method);

// A fresh call id: 128 bits from the operating system's CSPRNG, in unpadded
// base64url (22 characters). Thread-safe.
std::string NewCallId();

}  // namespace sserpc

#endif  // SSERPC_PROTO_IDS_H_
