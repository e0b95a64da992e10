#ifndef SSERPC_PROTO_FLAG_NAMES_H_
#define SSERPC_PROTO_FLAG_NAMES_H_

namespace sserpc {

// Lets the command-line tools take `--admin-token` as well as abseil's
// `--admin_token`: rewrites '-' to '_' in the name part of every "--name" or
// "--name=value" argument, in place, before absl::ParseCommandLine. Stops at
// a bare "--". Values are never touched.
void NormalizeFlagNames(int argc, char** argv);

}  // namespace sserpc

#endif  // SSERPC_PROTO_FLAG_NAMES_H_
