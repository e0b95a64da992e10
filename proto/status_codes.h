#ifndef SSERPC_PROTO_STATUS_CODES_H_
#define SSERPC_PROTO_STATUS_CODES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sserpc {

// The one mapping between status codes, their wire names and HTTP statuses.
// docs/PROTOCOL.md ("Status codes") is the contract for these tables.

// "OK", "CANCELLED", ..., "UNAUTHENTICATED" (the gRPC code names).
std::string StatusCodeName(absl::StatusCode code);

// Parses a gRPC code name. Returns false (and leaves *code alone) if unknown.
bool ParseStatusCodeName(absl::string_view name, absl::StatusCode* code);

// HTTP status used for an error with this code (200 for OK).
int HttpStatusForCode(absl::StatusCode code);

// Status code a caller sees for an HTTP status without a recognisable body.
absl::StatusCode CodeForHttpStatus(int http_status);

}  // namespace sserpc

#endif  // SSERPC_PROTO_STATUS_CODES_H_
