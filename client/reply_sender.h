#ifndef SSERPC_CLIENT_REPLY_SENDER_H_
#define SSERPC_CLIENT_REPLY_SENDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/http_connection.h"
#include "client/options.h"
#include "client/server_url.h"
#include "proto/clock.h"
#include "proto/envelope.h"
#include "proto/sync.h"

namespace httplib {
class Client;
}

namespace sserpc::client_internal {

// Posts answers to the server on one keep-alive connection. Answers that
// queue up while a POST is in flight go together in the next one (a JSON
// array). A POST that fails in transport, or with 429/5xx, is retried with
// backoff until the call's deadline: answers are idempotent by call id, so
// a retry of an answer that did arrive is refused harmlessly (404).
class ReplySender {
 public:
  ReplySender(const ClientOptions& options, ServerUrl url, Clock* clock);
  ~ReplySender();  // Stop(absl::ZeroDuration())

  // Queues an answer; `give_up_at` is when the call's caller stops waiting.
  // With `wake` false the sender thread is not woken yet: the caller queues
  // several answers and then calls Flush(), so that they leave in one POST
  // instead of the first one alone.
  void Send(ReplyEnvelope reply, absl::Time give_up_at, bool wake = true);
  // Wakes the sender thread for answers queued with `wake` false.
  void Flush();

  // From now on, answers are sent only until `deadline`; those still queued
  // then are dropped. Returns at once.
  void StopBy(absl::Time deadline);
  // StopBy(now + drain), then waits for the sender thread to finish.
  void Stop(absl::Duration drain);

  struct Stats {
    uint64_t posts = 0;
    uint64_t delivered = 0;  // accepted by the server
    uint64_t refused = 0;    // server no longer waiting (404/410) or invalid
    uint64_t retried = 0;
    uint64_t expired = 0;    // gave up at the deadline
  };
  Stats stats() const;

 private:
  struct Item {
    ReplyEnvelope reply;
    absl::Time give_up_at;
    bool alone = false;  // post in a body of its own (its batch was refused)
  };
  void Loop();
  // Posts items[0, count) in one body; moves those to retry to *failed.
  void Post(Item* items, size_t count, std::vector<Item>* failed);
  // POSTs `body` to path_ on whichever transport the URL asks for.
  absl::StatusOr<HttpResponse> Transport(absl::string_view body,
                                         absl::string_view content_type);

  const ClientOptions& options_;
  const ServerUrl url_;
  const std::string path_;
  Clock* const clock_;
  // Used by the sender thread only. http:// goes through our own
  // connection; https:// through cpp-httplib (built with OpenSSL here),
  // which the answer path never needed to be fast for. A URL neither can
  // use leaves url_error_, returned by every POST (as an unusable host
  // made every cpp-httplib POST fail before).
  std::unique_ptr<HttpConnection> http_;
  std::unique_ptr<httplib::Client> https_;
  std::string body_;  // the POST body, kept from one POST to the next
  absl::Status url_error_;

  mutable Mutex mu_;
  std::vector<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;   // StopBy() was called
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;  // Stop(): no more Send()s
  bool unwoken_ ABSL_GUARDED_BY(mu_) = false;    // queued without a wake
  absl::Time stop_by_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  Stats stats_ ABSL_GUARDED_BY(mu_);
  CondVar wake_;
  std::thread thread_ ABSL_GUARDED_BY(mu_);  // from the first Send()
};

}  // namespace sserpc::client_internal

#endif  // SSERPC_CLIENT_REPLY_SENDER_H_
