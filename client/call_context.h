#ifndef SSERPC_CLIENT_CALL_CONTEXT_H_
#define SSERPC_CLIENT_CALL_CONTEXT_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/cancellation.h"

namespace sserpc {

// What a handler knows about the call it runs. Valid for the handler's run.
class CallContext {
 public:
  CallContext(std::string call_id, std::string method, std::string client_id,
              absl::Time deadline, Cancellation* cancellation,
              bool protobuf_payload = false)
      : call_id_(std::move(call_id)),
        method_(std::move(method)),
        client_id_(std::move(client_id)),
        deadline_(deadline),
        cancellation_(cancellation),
        protobuf_payload_(protobuf_payload) {}

  const std::string& call_id() const { return call_id_; }
  const std::string& method() const { return method_; }
  const std::string& client_id() const { return client_id_; }
  // The caller's deadline, as this client's clock sees it.
  absl::Time deadline() const { return deadline_; }
  // True when the request payload is in the protobuf binary format (a typed
  // call to a client with ClientOptions::protobuf_payloads); the answer
  // payload must then be protobuf too. Otherwise both are JSON.
  bool protobuf_payload() const { return protobuf_payload_; }

  // True once the call is over for the caller: the server sent `cancel`
  // (caller cancelled, deadline, caller gone), the deadline passed here, or
  // the client is stopping. A handler should then stop and return anything;
  // its answer is not sent unless the client is stopping.
  bool IsCancelled() const { return cancellation_->IsCancelled(); }
  // Why: CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE...; OK while running.
  absl::Status cancel_status() const { return cancellation_->status(); }
  // To wait for, or be called back on, cancellation.
  Cancellation& cancellation() { return *cancellation_; }

 private:
  std::string call_id_;
  std::string method_;
  std::string client_id_;
  absl::Time deadline_;
  Cancellation* cancellation_;
  bool protobuf_payload_;
};

// Runs one call: returns the answer payload as JSON text (protobuf bytes
// when ctx.protobuf_payload()), or an error status (its code and message
// reach the caller). Runs on a worker thread; handlers for different calls
// run concurrently.
using Handler =
    std::function<absl::StatusOr<std::string>(CallContext& ctx,
                                              absl::string_view payload)>;

}  // namespace sserpc

#endif  // SSERPC_CLIENT_CALL_CONTEXT_H_
