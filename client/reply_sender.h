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
// array). A POST that fails in transport, or with 408/429/5xx, is retried with
// backoff until the call's deadline: answers are idempotent by call id, so
// a retry of an answer that did arrive is refused harmlessly (404).
//
// Threads: the sender thread owns the connection. While it has nothing to
// send and the (http://) connection is open, it waits in recv() on that
// connection ("parked") rather than on a condition variable; a thread that
// then hands over answers (Send(), Flush()) writes their POST itself, and
// the sender thread wakes once, for the response. So an answer costs no
// wake-up of the sender thread to start its POST, and a connection the
// server (or a proxy) closes while idle is noticed at once. While a POST is
// in flight, answers queue and the sender thread posts them after the
// response, as one batch. The handing thread never waits on the network:
// a POST the socket does not take at once (a large answer the server is
// slow to read) ends that connection, and the sender thread sends it again
// on a new one, where it may wait.
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
    uint64_t direct_posts = 0;  // of those, sent by the thread handing over
    uint64_t delivered = 0;  // accepted by the server
    uint64_t refused = 0;    // server no longer waiting (404/410) or invalid
    uint64_t retried = 0;
    uint64_t expired = 0;    // gave up at the deadline
  };
  Stats stats() const;
  // True while the sender thread waits for input on its idle connection
  // (for tests).
  bool parked() const;

 private:
  struct Item {
    ReplyEnvelope reply;
    absl::Time give_up_at;
    bool alone = false;  // post in a body of its own (its batch was refused)
  };
  // Who writes the next POST (see the class comment).
  enum class Wire {
    kSenderThread,  // the sender thread (also while it waits on wake_)
    kParked,        // whoever hands over answers: TakeDirectLocked()
    kSending,       // another thread is sending it (SendDirect())
    kInFlight,      // sent by another thread; the sender thread reads the
                    // response
  };

  void Loop();
  // How many of items[0, count) (count > 0) go in the first body: at most
  // max_batch_bytes, one encoding, an `alone` item by itself.
  size_t BatchSize(const Item* items, size_t count) const;
  // Parked: moves the first body's worth of queue_ to direct_ and makes
  // the calling thread the sender of their POST (true; then call
  // SendDirect() without mu_ held). Otherwise wakes the sender thread for
  // what is queued and returns false.
  bool TakeDirectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendDirect() ABSL_LOCKS_EXCLUDED(mu_);
  // The sender thread, parked: waits for the response of a POST another
  // thread sent, and completes it (moving what to retry to *failed). False
  // if the connection had input (or timed out) with nothing sent.
  bool AwaitDirectPost(std::vector<Item>* batch, std::vector<Item>* failed);
  // The body of items[0, count), in body_; returns its content type.
  absl::string_view BuildBody(const Item* items, size_t count);
  // Posts items[0, count) in one body; moves those to retry to *failed.
  void Post(Item* items, size_t count, std::vector<Item>* failed);
  // Accounts for the outcome of items[0, count)'s POST.
  void Complete(Item* items, size_t count,
                const absl::StatusOr<HttpResponse>& res,
                std::vector<Item>* failed);
  // Lets go of body_'s memory if it grew past what is kept.
  void TrimBody();
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
  absl::Status url_error_;
  // The POST body, kept from one POST to the next, and the answers of a
  // POST sent by another thread than the sender thread. Used by whichever
  // thread writes the next POST (wire_), which mu_ hands over.
  std::string body_;
  std::vector<Item> direct_;

  mutable Mutex mu_;
  std::vector<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;   // StopBy() was called
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;  // Stop(): no more Send()s
  bool unwoken_ ABSL_GUARDED_BY(mu_) = false;    // queued without a wake
  Wire wire_ ABSL_GUARDED_BY(mu_) = Wire::kSenderThread;
  absl::Time stop_by_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  Stats stats_ ABSL_GUARDED_BY(mu_);
  CondVar wake_;
  std::thread thread_ ABSL_GUARDED_BY(mu_);  // from the first Send()
};

}  // namespace sserpc::client_internal

#endif  // SSERPC_CLIENT_REPLY_SENDER_H_
