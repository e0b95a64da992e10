#include "server/server.h"

#include "proto/clock.h"
#include "server/dispatcher.h"
#include "server/http_service.h"
#include "proto/thread_name.h"

namespace sserpc {

Server::Server(ServerOptions options)
    : options_(std::move(options)),
      dispatcher_(std::make_unique<server_internal::Dispatcher>(
          options_, options_.clock != nullptr ? options_.clock : Clock::Real())),
      http_(std::make_unique<server_internal::HttpService>(options_,
                                                           dispatcher_.get())),
      timer_([d = dispatcher_.get()] {
        NameThisThread("sserpc-timer");
        d->RunTimer();
      }) {}

Server::~Server() { Stop(); }

absl::StatusOr<int> Server::Start(absl::string_view host, int port) {
  if (absl::Status valid = ValidateServerOptions(options_); !valid.ok()) {
    return valid;
  }
  absl::StatusOr<int> bound = http_->Start(host, port);
  if (bound.ok()) port_ = *bound;
  return bound;
}

void Server::Stop() {
  http_->Stop();
  dispatcher_->Shutdown();  // also ends RunTimer()
  if (timer_.joinable()) timer_.join();
}

CallResult Server::Call(absl::string_view client_id, absl::string_view method,
                        std::string payload_json, const CallOptions& options) {
  return dispatcher_->CallAndWait(client_id, method, std::move(payload_json),
                                  options);
}

std::string Server::CallAsync(absl::string_view client_id,
                              absl::string_view method,
                              std::string payload_json,
                              const CallOptions& options, CallCallback done) {
  return dispatcher_->StartCall(client_id, method, std::move(payload_json),
                                options, std::move(done));
}

RawCallResult Server::CallProto(absl::string_view client_id,
                                absl::string_view method,
                                std::string request_proto,
                                const RequestTranscoder& transcoder,
                                const CallOptions& options) {
  return dispatcher_->ProtoCallAndWait(client_id, method,
                                       std::move(request_proto), transcoder,
                                       options);
}

std::string Server::CallProtoAsync(absl::string_view client_id,
                                   absl::string_view method,
                                   std::string request_proto,
                                   const RequestTranscoder& transcoder,
                                   const CallOptions& options,
                                   RawCallCallback done) {
  return dispatcher_->StartProtoCall(client_id, method, std::move(request_proto),
                                     transcoder, options, std::move(done));
}

bool Server::Cancel(absl::string_view call_id) {
  return dispatcher_->Cancel(call_id, absl::CancelledError("cancelled by caller"));
}

std::vector<ClientInfo> Server::Clients() const {
  return dispatcher_->ListClients();
}

ServerStats Server::Stats() const {
  ServerStats s = dispatcher_->Stats();
  http_->AddConnectionStats(&s);
  return s;
}

}  // namespace sserpc
