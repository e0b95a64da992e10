#ifndef SSERPC_TESTS_CLIENT_FAKE_SERVER_H_
#define SSERPC_TESTS_CLIENT_FAKE_SERVER_H_

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/binary_envelope.h"
#include "proto/envelope.h"
#include "proto/sse.h"
#include "proto/sync.h"

namespace sserpc::testing {

// A scripted stand-in for the sserpc server, on 127.0.0.1 with an ephemeral
// port: the test decides what each SSE stream carries and how each replies
// POST is answered, and inspects what the client sent. Thread-safe.
//
// Every stream starts with `retry: <retry_ms>` and a session event. The
// newest stream is the one Send()/EndStream() act on.
class FakeServer {
 public:
  static constexpr absl::Duration kWait = absl::Seconds(10);

  // What a client sent to open a stream.
  struct StreamRequest {
    std::string client_id;
    std::string authorization;
    bool has_last_event_id = false;
    std::string last_event_id;
    std::string accept;
    std::string payloads;  // the `payloads` query parameter
  };

  // One replies POST as received.
  struct Post {
    std::string client_id;
    std::string authorization;
    std::string body;
    bool parsed = false;  // the body was a valid replies body
    bool is_batch = false;
    bool protobuf = false;  // a binary (application/x-protobuf) body
    std::vector<ReplyEnvelope> replies;
    int status = 0;  // what the fake answered
  };

  // Picks the HTTP status for the `index`-th (0-based) replies POST; 0 means
  // success (204 for one reply, 200 with per-reply results for a batch).
  using ReplyPolicy =
      std::function<int(int index, const std::vector<ReplyEnvelope>& replies)>;
  // Runs before a replies POST is answered (it may block, bounded).
  using BeforeReply = std::function<void(int index)>;

  // `keep_alive_s`: how long a keep-alive connection may stay idle.
  explicit FakeServer(int64_t retry_ms = 50, time_t keep_alive_s = 1)
      : retry_ms_(retry_ms) {
    // Each open SSE stream holds a worker for its whole life.
    svr_.new_task_queue = [] { return new httplib::ThreadPool(32); };
    svr_.set_tcp_nodelay(true);
    svr_.set_keep_alive_timeout(keep_alive_s);
    svr_.Get(R"(/sserpc/v1/clients/([^/]+)/events)",
             [this](const httplib::Request& req, httplib::Response& res) {
               HandleStream(req, res);
             });
    svr_.Post(R"(/sserpc/v1/clients/([^/]+)/replies)",
              [this](const httplib::Request& req, httplib::Response& res) {
                HandleReplies(req, res);
              });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    for (int i = 0; i < 2000 && !svr_.is_running(); ++i) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  ~FakeServer() {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
    }
    svr_.stop();
    if (thread_.joinable()) thread_.join();
  }

  FakeServer(const FakeServer&) = delete;
  FakeServer& operator=(const FakeServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

  // HTTP status for later stream requests (200: open the stream).
  void set_stream_status(int status) {
    MutexLock lock(&mu_);
    stream_status_ = status;
  }
  void set_reply_policy(ReplyPolicy policy) {
    MutexLock lock(&mu_);
    reply_policy_ = std::move(policy);
  }
  void set_before_reply(BeforeReply hook) {
    MutexLock lock(&mu_);
    before_reply_ = std::move(hook);
  }

  // Waits until `n` stream requests arrived (opened or refused).
  bool WaitForStreams(int n, absl::Duration timeout = kWait) {
    Target t{this, n};
    MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        Condition(
            +[](Target* t) {
              return static_cast<int>(t->server->stream_requests_.size()) >=
                     t->n;
            },
            &t),
        timeout);
  }

  // Waits until `n` replies POSTs arrived.
  bool WaitForPosts(int n, absl::Duration timeout = kWait) {
    Target t{this, n};
    MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        Condition(
            +[](Target* t) {
              return static_cast<int>(t->server->posts_.size()) >= t->n;
            },
            &t),
        timeout);
  }

  // Waits for an answer to `call_id` that the fake accepted (2xx).
  std::optional<ReplyEnvelope> WaitForReply(const std::string& call_id,
                                            absl::Duration timeout = kWait) {
    const absl::Time until = absl::Now() + timeout;
    while (true) {
      {
        MutexLock lock(&mu_);
        for (const Post& p : posts_) {
          if (p.status / 100 != 2) continue;
          for (const ReplyEnvelope& r : p.replies) {
            if (r.call_id == call_id) return r;
          }
        }
      }
      if (absl::Now() >= until) return std::nullopt;
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  // Appends raw bytes to the newest stream.
  void Send(absl::string_view bytes) {
    MutexLock lock(&mu_);
    if (current_ == nullptr) return;
    current_->out.append(bytes.data(), bytes.size());
  }
  void SendEvent(absl::string_view event, absl::string_view data,
                 uint64_t id = 0) {
    std::string out;
    AppendSseEvent(event, data, id, &out);
    Send(out);
  }
  void SendRequest(absl::string_view call_id, absl::string_view method,
                   absl::string_view payload = "{}", int64_t timeout_ms = 30000,
                   uint64_t id = 0) {
    std::string data;
    AppendRequestData(call_id, method, timeout_ms, payload, &data);
    SendEvent("request", data, id);
  }
  void SendProtoRequest(absl::string_view call_id, absl::string_view method,
                        absl::string_view payload, int64_t timeout_ms = 30000,
                        uint64_t id = 0) {
    std::string data;
    AppendRequestDataProto(call_id, method, timeout_ms, payload, &data);
    SendEvent("request-proto", data, id);
  }
  void SendCancel(absl::string_view call_id,
                  absl::StatusCode code = absl::StatusCode::kCancelled) {
    std::string data;
    AppendCancelData(call_id, code, &data);
    SendEvent("cancel", data);
  }
  void SendClose(const absl::Status& why) {
    SendEvent("close", ErrorBody(why));
  }
  // Ends the newest stream cleanly after what was sent so far.
  void EndStream() {
    MutexLock lock(&mu_);
    if (current_ != nullptr) current_->end = true;
  }

  std::vector<StreamRequest> stream_requests() const {
    MutexLock lock(&mu_);
    return stream_requests_;
  }
  int streams() const {
    MutexLock lock(&mu_);
    return static_cast<int>(stream_requests_.size());
  }
  std::vector<Post> posts() const {
    MutexLock lock(&mu_);
    return posts_;
  }
  // How many POSTs carried an answer for `call_id`, and how many of those
  // the fake accepted.
  int PostsCarrying(const std::string& call_id) const {
    MutexLock lock(&mu_);
    int n = 0;
    for (const Post& p : posts_) {
      for (const ReplyEnvelope& r : p.replies) n += r.call_id == call_id;
    }
    return n;
  }
  int AcceptedRepliesFor(const std::string& call_id) const {
    MutexLock lock(&mu_);
    int n = 0;
    for (const Post& p : posts_) {
      if (p.status / 100 != 2) continue;
      for (const ReplyEnvelope& r : p.replies) n += r.call_id == call_id;
    }
    return n;
  }

 private:
  struct Stream {
    std::string out;
    bool end = false;
  };
  struct Target {
    FakeServer* server;
    int n;
  };

  void HandleStream(const httplib::Request& req, httplib::Response& res) {
    StreamRequest sr;
    sr.client_id = req.matches[1];
    sr.authorization = req.get_header_value("Authorization");
    sr.has_last_event_id = req.has_header("Last-Event-ID");
    sr.last_event_id = req.get_header_value("Last-Event-ID");
    sr.accept = req.get_header_value("Accept");
    sr.payloads = req.get_param_value("payloads");
    auto stream = std::make_shared<Stream>();
    AppendSseRetry(retry_ms_, &stream->out);
    std::string session;
    AppendSessionData(sr.client_id, 15000, /*protobuf_payloads=*/false, &session);
    AppendSseEvent("session", session, 0, &stream->out);
    int status;
    {
      MutexLock lock(&mu_);
      stream_requests_.push_back(sr);
      status = stream_status_;
      if (status == 200) current_ = stream;
    }
    if (status != 200) {
      res.status = status;
      res.set_content(ErrorBody(absl::Status(absl::StatusCode::kUnknown,
                                             "refused by the fake")),
                      "application/json");
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, stream](size_t /*offset*/, httplib::DataSink& sink) {
          std::string out;
          bool end;
          {
            MutexLock lock(&mu_);
            struct Ready {
              FakeServer* server;
              Stream* stream;
            } ready{this, stream.get()};
            // Bounded wait, so that server.stop() never waits on us long.
            mu_.AwaitWithTimeout(
                Condition(
                    +[](Ready* r) {
                      return !r->stream->out.empty() || r->stream->end ||
                             r->server->stopping_;
                    },
                    &ready),
                absl::Milliseconds(50));
            out.swap(stream->out);
            end = stream->end || stopping_;
          }
          if (!out.empty() && !sink.write(out.data(), out.size())) {
            return false;
          }
          if (end) {
            sink.done();
            return true;
          }
          return sink.is_writable();
        });
  }

  void HandleReplies(const httplib::Request& req, httplib::Response& res) {
    Post p;
    p.client_id = req.matches[1];
    p.authorization = req.get_header_value("Authorization");
    p.body = req.body;
    p.protobuf = IsProtobufContentType(req.get_header_value("Content-Type"));
    if (p.protobuf) {
      p.parsed = ParseRepliesProto(req.body, &p.replies).ok();
    } else {
      p.parsed = ParseReplies(req.body, &p.replies, &p.is_batch).ok();
    }
    int index;
    ReplyPolicy policy;
    BeforeReply hook;
    {
      MutexLock lock(&mu_);
      index = next_post_++;
      policy = reply_policy_;
      hook = before_reply_;
    }
    if (hook) hook(index);
    int status = 0;
    if (!p.parsed) {
      status = 400;
    } else if (policy) {
      status = policy(index, p.replies);
    }
    if (status == 0 && p.protobuf) {
      status = 204;  // every answer accepted
    } else if (status == 0 && p.is_batch) {
      status = 200;
      std::string body = "[";
      for (size_t i = 0; i < p.replies.size(); ++i) {
        if (i > 0) body += ",";
        absl::StrAppend(&body, R"({"call_id":")", p.replies[i].call_id,
                        R"(","status":200})");
      }
      body += "]";
      res.set_content(body, "application/json");
    } else if (status == 0) {
      status = 204;
    } else if (status / 100 != 2) {
      res.set_content(ErrorBody(absl::Status(absl::StatusCode::kUnknown,
                                             "refused by the fake")),
                      "application/json");
    }
    res.status = status;
    p.status = status;
    MutexLock lock(&mu_);
    posts_.push_back(std::move(p));
  }

  const int64_t retry_ms_;
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;

  mutable Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int stream_status_ ABSL_GUARDED_BY(mu_) = 200;
  std::shared_ptr<Stream> current_ ABSL_GUARDED_BY(mu_);
  std::vector<StreamRequest> stream_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<Post> posts_ ABSL_GUARDED_BY(mu_);
  int next_post_ ABSL_GUARDED_BY(mu_) = 0;
  ReplyPolicy reply_policy_ ABSL_GUARDED_BY(mu_);
  BeforeReply before_reply_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sserpc::testing

#endif  // SSERPC_TESTS_CLIENT_FAKE_SERVER_H_
