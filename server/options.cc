#include "server/options.h"

#include "absl/strings/str_cat.h"

namespace sserpc {

absl::Status ValidateServerOptions(const ServerOptions& o) {
  auto positive = [](absl::Duration d, const char* name) {
    return d > absl::ZeroDuration()
               ? absl::OkStatus()
               : absl::InvalidArgumentError(
                     absl::StrCat("ServerOptions.", name, " must be positive"));
  };
  for (absl::Status s :
       {positive(o.heartbeat, "heartbeat"),
        positive(o.liveness_check, "liveness_check"),
        positive(o.retry_hint, "retry_hint"),
        positive(o.default_timeout, "default_timeout"),
        positive(o.max_timeout, "max_timeout"),
        positive(o.max_write_stall, "max_write_stall"),
        positive(o.keep_alive_timeout, "keep_alive_timeout"),
        positive(o.read_timeout, "read_timeout"),
        positive(o.write_timeout, "write_timeout"),
        positive(o.max_request_head_time, "max_request_head_time")}) {
    if (!s.ok()) return s;
  }
  if (o.resume_grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "ServerOptions.resume_grace must not be negative");
  }
  if (o.dead_peer_timeout < absl::Seconds(2) ||
      o.dead_peer_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ServerOptions.dead_peer_timeout must be between 2s and 1h (got ",
        absl::FormatDuration(o.dead_peer_timeout),
        "); shorter would abort healthy connections that lose a few "
        "segments"));
  }
  if (o.max_outbox_bytes == 0 || o.max_pending_per_client == 0 ||
      o.max_clients == 0 ||
      o.max_pending_total == 0 || o.max_body_bytes == 0 ||
      o.listen_backlog <= 0) {
    return absl::InvalidArgumentError(
        "ServerOptions limits (max_outbox_bytes, max_pending_per_client, "
        "max_pending_total, max_body_bytes, listen_backlog) must be positive");
  }
  if (o.max_connections == 0 || o.max_request_headers == 0) {
    return absl::InvalidArgumentError(
        "ServerOptions.max_connections and max_request_headers must be "
        "positive");
  }
  if (o.max_request_head_bytes < 1024) {
    return absl::InvalidArgumentError(
        "ServerOptions.max_request_head_bytes must be at least 1024");
  }
  if (o.max_connections_per_second > 0 && o.connection_burst == 0) {
    return absl::InvalidArgumentError(
        "ServerOptions.connection_burst must be positive when "
        "max_connections_per_second is set");
  }
  for (const auto& [id, token] : o.client_tokens) {
    if (token.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("empty token for client ", id));
    }
  }
  return absl::OkStatus();
}

}  // namespace sserpc
