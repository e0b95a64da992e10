#include "client/reply_sender.h"

#include <httplib.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/binary_envelope.h"
#include "proto/json.h"
#include "proto/log.h"
#include "proto/thread_name.h"

namespace sserpc::client_internal {
namespace {

// The most the sender keeps allocated between POSTs for its body and its
// batch of answers.
constexpr size_t kKeptBytes = 64 << 10;
constexpr size_t kKeptItems = 256;

// 408: the server (or a proxy) timed the request out unread, or the
// connection out while it was idle and the request crossed the 408.
bool Retryable(int http_status) {
  return http_status == 408 || http_status == 429 || http_status >= 500;
}

// Removes the answers nobody waits for any more (by `now`); returns how many.
template <typename Item>
size_t DropExpired(std::vector<Item>* items, absl::Time now) {
  const size_t before = items->size();
  items->erase(std::remove_if(items->begin(), items->end(),
                              [&](const Item& i) { return i.give_up_at <= now; }),
               items->end());
  return before - items->size();
}

}  // namespace

ReplySender::ReplySender(const ClientOptions& options, ServerUrl url,
                         Clock* clock)
    : options_(options),
      url_(std::move(url)),
      path_(absl::StrCat(url_.path_prefix, "/sserpc/v1/clients/",
                         options.client_id, "/replies")),
      clock_(clock) {
  if (!absl::StartsWith(url_.scheme_host_port, "https://")) {
    absl::StatusOr<HttpHostPort> target =
        ParseHttpHostPort(url_.scheme_host_port);
    if (!target.ok()) {
      url_error_ = target.status();
      return;
    }
    // A batch's response has one short result per answer; answers are
    // counted at 128 bytes or more towards max_batch_bytes, so 4 times
    // that bounds it with room to spare.
    const size_t max_response_bytes =
        std::max(options.max_message_bytes, 4 * options.max_batch_bytes);
    http_ = std::make_unique<HttpConnection>(
        std::move(target->host), target->port, options.token,
        options.connect_timeout, options.reply_timeout, max_response_bytes);
    return;
  }
  https_ = std::make_unique<httplib::Client>(url_.scheme_host_port);
  https_->set_keep_alive(true);
  https_->set_tcp_nodelay(true);
  auto sec = [](absl::Duration d) { return absl::ToInt64Seconds(d); };
  auto usec = [](absl::Duration d) {
    return absl::ToInt64Microseconds(d) % 1000000;
  };
  https_->set_connection_timeout(sec(options.connect_timeout),
                                 usec(options.connect_timeout));
  https_->set_read_timeout(sec(options.reply_timeout),
                           usec(options.reply_timeout));
  https_->set_write_timeout(sec(options.reply_timeout),
                            usec(options.reply_timeout));
  if (!options.token.empty()) https_->set_bearer_token_auth(options.token);
}

absl::StatusOr<HttpResponse> ReplySender::Transport(
    absl::string_view body, absl::string_view content_type) {
  if (http_ != nullptr) return http_->Post(path_, content_type, body);
  if (https_ == nullptr) return url_error_;
  httplib::Result res =
      https_->Post(path_, body.data(), body.size(),
                   std::string(content_type.data(), content_type.size()));
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("POST ", url_.scheme_host_port, path_, ": ",
                     httplib::to_string(res.error())));
  }
  return HttpResponse{res->status, res->get_header_value("Content-Type"),
                      std::move(res->body)};
}

ReplySender::~ReplySender() { Stop(absl::ZeroDuration()); }

void ReplySender::Send(ReplyEnvelope reply, absl::Time give_up_at,
                       bool wake) {
  {
    MutexLock lock(&mu_);
    if (stopping_ && clock_->Now() >= stop_by_) {
      ++stats_.expired;
      return;
    }
    queue_.push_back(Item{std::move(reply), give_up_at});
    if (!thread_.joinable() && !finishing_) {
      // Started with the first answer: a client never called has no thread
      // (and no connection) for answers.
      thread_ = std::thread([this] {
        NameThisThread("sserpc-answers");
        Loop();
      });
    }
    if (!wake) {
      unwoken_ = true;
      return;
    }
    unwoken_ = false;
    if (!TakeDirectLocked()) return;
  }
  SendDirect();
}

void ReplySender::Flush() {
  {
    MutexLock lock(&mu_);
    if (!unwoken_) return;
    unwoken_ = false;
    if (!TakeDirectLocked()) return;
  }
  SendDirect();
}

void ReplySender::StopBy(absl::Time deadline) {
  MutexLock lock(&mu_);
  if (!stopping_ || deadline < stop_by_) stop_by_ = deadline;
  stopping_ = true;
  wake_.Signal();
}

void ReplySender::Stop(absl::Duration drain) {
  StopBy(clock_->Now() + drain);
  std::thread thread;
  {
    MutexLock lock(&mu_);
    finishing_ = true;
    wake_.Signal();
    // A parked sender thread is in recv(): end that wait (no POST can be
    // sent directly any more).
    if (wire_ == Wire::kParked) http_->EndAwaitInput();
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

ReplySender::Stats ReplySender::stats() const {
  MutexLock lock(&mu_);
  return stats_;
}

bool ReplySender::parked() const {
  MutexLock lock(&mu_);
  return wire_ == Wire::kParked;
}

size_t ReplySender::BatchSize(const Item* items, size_t count) const {
  size_t n = 0;
  size_t bytes = 0;
  while (n < count) {
    const Item& next = items[n];
    const size_t b = next.reply.payload.size() + 128;
    // A body is all JSON or all protobuf (answers take their call's form).
    if (n > 0 && (bytes + b > options_.max_batch_bytes || next.alone ||
                  next.reply.protobuf != items[0].reply.protobuf)) {
      break;
    }
    bytes += b;
    ++n;
    if (next.alone) break;
  }
  return n;
}

bool ReplySender::TakeDirectLocked() {
  if (wire_ == Wire::kParked && !finishing_) {
    const absl::Time now = clock_->Now();
    if (!stopping_ || now < stop_by_) {
      stats_.expired += DropExpired(&queue_, now);
      if (!queue_.empty()) {
        const size_t n = BatchSize(queue_.data(), queue_.size());
        direct_.assign(std::make_move_iterator(queue_.begin()),
                       std::make_move_iterator(queue_.begin() + n));
        queue_.erase(queue_.begin(), queue_.begin() + n);
        wire_ = Wire::kSending;
        return true;
      }
    }
  }
  // The sender thread has what is queued to send (or, past the stop
  // deadline, to drop).
  wake_.Signal();
  return false;
}

void ReplySender::SendDirect() {
  const absl::string_view content_type =
      BuildBody(direct_.data(), direct_.size());
  http_->SendPost(path_, content_type, body_);
  TrimBody();
  MutexLock lock(&mu_);
  wire_ = Wire::kInFlight;
  ++stats_.posts;
  ++stats_.direct_posts;
  wake_.Signal();  // the sender thread may wait for the send to end
}

bool ReplySender::AwaitDirectPost(std::vector<Item>* batch,
                                  std::vector<Item>* failed) {
  const HttpConnection::Input input = http_->AwaitInput();
  {
    MutexLock lock(&mu_);
    while (wire_ == Wire::kSending) wake_.Wait(&mu_);
    const bool sent = wire_ == Wire::kInFlight;
    wire_ = Wire::kSenderThread;
    if (!sent) {
      // Input on an idle connection: the server (or a proxy) closed it, or
      // sent something unasked (a 408). Either way it is out of step.
      if (input != HttpConnection::Input::kTimeout) http_->Close();
      return false;
    }
    batch->swap(direct_);
  }
  bool unanswered = false;
  absl::StatusOr<HttpResponse> res = http_->FinishPost(&unanswered);
  if (!res.ok() && unanswered) {
    // As HttpConnection::Post() does for a kept connection: the server most
    // likely closed it, idle, before reading this request. Once more on a
    // new connection (an answer that did arrive is refused harmlessly).
    Post(batch->data(), batch->size(), failed);
  } else {
    Complete(batch->data(), batch->size(), res, failed);
  }
  return true;
}

void ReplySender::TrimBody() {
  // A burst or one large answer must not stay allocated for the client's
  // lifetime.
  if (body_.capacity() > kKeptBytes) std::string().swap(body_);
}

void ReplySender::Loop() {
  absl::Duration backoff = absl::ZeroDuration();
  // Kept across iterations, so their storage is reused.
  std::vector<Item> batch;
  std::vector<Item> retry;
  std::vector<Item> failed;
  while (true) {
    bool park = false;
    {
      MutexLock lock(&mu_);
      if (!retry.empty()) {
        // Back off before retrying, but never past the stop deadline, even
        // one set while waiting. (Waits are in real time; the stop deadline
        // is on clock_, so it is converted each time.)
        absl::Time until = absl::Now() + backoff;
        while (true) {
          if (stopping_) {
            until = std::min(until, absl::Now() + (stop_by_ - clock_->Now()));
          }
          if (absl::Now() >= until) break;
          wake_.WaitWithDeadline(&mu_, until);
        }
      }
      while (queue_.empty() && retry.empty() && !finishing_) {
        if (!stopping_ && http_ != nullptr && http_->idle()) {
          park = true;  // wait for input on the connection instead
          wire_ = Wire::kParked;
          break;
        }
        if (!stopping_) {
          wake_.Wait(&mu_);
          continue;
        }
        absl::Duration left = stop_by_ - clock_->Now();
        if (left <= absl::ZeroDuration()) break;
        wake_.WaitWithTimeout(&mu_, left);
      }
      if (!park) {
        const absl::Time now = clock_->Now();
        if (stopping_ && now >= stop_by_) {
          stats_.expired += queue_.size() + retry.size();
          queue_.clear();
          return;
        }
        if (queue_.empty() && retry.empty()) {
          if (finishing_) return;  // everything was sent
          continue;
        }
        // Retries first, then the new answers.
        batch.clear();
        batch.swap(retry);
        for (Item& i : queue_) batch.push_back(std::move(i));
        queue_.clear();
        stats_.expired += DropExpired(&batch, now);
      }
    }
    failed.clear();
    if (park) {
      if (!AwaitDirectPost(&batch, &failed)) continue;
    } else {
      // Post in chunks of at most max_batch_bytes.
      size_t begin = 0;
      while (begin < batch.size()) {
        const size_t n = BatchSize(&batch[begin], batch.size() - begin);
        Post(&batch[begin], n, &failed);
        begin += n;
      }
    }
    batch.clear();  // the answers' memory goes now, not at the next POST
    // Kept buffers stay small: a burst must not stay allocated for the
    // client's lifetime.
    if (batch.capacity() > kKeptItems) std::vector<Item>().swap(batch);
    TrimBody();
    if (failed.empty()) {
      backoff = absl::ZeroDuration();
    } else {
      backoff = backoff == absl::ZeroDuration()
                    ? options_.reply_retry_initial
                    : std::min(backoff * 2, options_.reply_retry_max);
      MutexLock lock(&mu_);
      stats_.retried += failed.size();
    }
    retry.swap(failed);
  }
}

absl::string_view ReplySender::BuildBody(const Item* items, size_t count) {
  std::string& body = body_;
  body.clear();
  const bool protobuf = items[0].reply.protobuf;
  if (protobuf) {
    for (size_t i = 0; i < count; ++i) {
      AppendReplyProto(items[i].reply, &body);  // ReplyBatch
    }
  } else if (count == 1) {
    AppendReply(items[0].reply, &body);
  } else {
    body.push_back('[');
    for (size_t i = 0; i < count; ++i) {
      if (i > 0) body.push_back(',');
      AppendReply(items[i].reply, &body);
    }
    body.push_back(']');
  }
  return protobuf ? kProtobufContentType : "application/json";
}

void ReplySender::Post(Item* items, size_t count, std::vector<Item>* failed) {
  const absl::string_view content_type = BuildBody(items, count);
  absl::StatusOr<HttpResponse> res = Transport(body_, content_type);
  {
    MutexLock lock(&mu_);
    ++stats_.posts;
  }
  Complete(items, count, res, failed);
}

void ReplySender::Complete(Item* items, size_t count,
                           const absl::StatusOr<HttpResponse>& res,
                           std::vector<Item>* failed) {
  // The items to retry are moved to *failed.
  auto retry_all = [&] {
    for (size_t i = 0; i < count; ++i) failed->push_back(std::move(items[i]));
  };
  const bool protobuf = items[0].reply.protobuf;
  if (!res.ok()) {
    SSERPC_LOG(kInfo, "answer POST failed (", res.status().message(),
               "); will retry ", count, " answer(s)");
    retry_all();
    return;
  }
  const int status = res->status;
  if (Retryable(status)) {
    retry_all();
    return;
  }
  if (count > 1 && (status == 400 || status == 413)) {
    // The batch as a whole was refused: send each answer on its own.
    for (size_t i = 0; i < count; ++i) items[i].alone = true;
    retry_all();
    return;
  }
  if (status == 413 && items[0].reply.error.ok()) {
    // Too large for the server: tell the caller so instead of timing out.
    Item& i = items[0];
    i.reply.payload.clear();
    i.reply.error = absl::ResourceExhaustedError(
        "the answer is larger than the server accepts");
    retry_all();
    return;
  }
  uint64_t delivered = 0;
  uint64_t refused = 0;
  if (status == 200 && protobuf) {
    // Some answers of a binary body were refused: one result each.
    absl::Status parsed =
        ForEachReplyResultProto(res->body, [&](absl::string_view, int st) {
          ++(st / 100 == 2 ? delivered : refused);
        });
    if (!parsed.ok()) {
      delivered = count;  // a 200 means the batch was taken
      refused = 0;
    }
  } else if (count == 1 || status != 200) {
    if (status / 100 == 2) {
      delivered = count;
    } else {
      // 404/410: the call is over; 400/413: this answer cannot be sent.
      refused = count;
      SSERPC_LOG(kInfo, "server refused answer(s) with HTTP ", status, ": ",
                 res->body);
    }
  } else {
    // A batch: one result per answer. Count rather than trust positions.
    absl::Status parsed = json::ForEachElement(res->body, [&](absl::string_view v) {
      int64_t item_status = 0;
      absl::Status s = json::ForEachMember(
          v, [&](absl::string_view key, absl::string_view value) {
            if (key == "status") return json::ParseInt64(value, &item_status);
            return absl::OkStatus();
          });
      if (!s.ok()) return s;
      if (item_status / 100 == 2) {
        ++delivered;
      } else {
        ++refused;
      }
      return absl::OkStatus();
    });
    if (!parsed.ok()) {
      delivered = count;  // a 200 means the batch was taken
      refused = 0;
    }
  }
  MutexLock lock(&mu_);
  stats_.delivered += delivered;
  stats_.refused += refused;
}

}  // namespace sserpc::client_internal
