// sserpc-soak: minutes of randomized load against client processes that are
// killed and restarted, checking that every call ends exactly once.
//
//   sserpc-soak server   the orchestrator. Starts an sserpc::Server on
//                        127.0.0.1:0, spawns SOAK_CLIENTS client processes
//                        (this binary in client mode, ids s0, s1, ...), warms
//                        up, stops the clients and takes a baseline of its
//                        own RSS and thread count, restarts them, then for
//                        SOAK_DURATION_S seconds runs mixed calls (echo, slow
//                        handlers, handler errors, unknown methods, clients
//                        that are dead or never existed; random timeouts,
//                        cancellations) while it SIGKILLs clients and
//                        restarts them (sometimes within the resume grace,
//                        sometimes too late) and sometimes stops one
//                        gracefully (SIGTERM: Client::Stop) and restarts it.
//                        Then it stops the load, waits for every call to end,
//                        stops the clients, measures again, checks, and
//                        prints "SOAK {json}". Exit 0 iff every check passed.
//   sserpc-soak client --id ID --port PORT [--inline]
//                        one sserpc::Client serving soak.Soak/{Echo,Slow,Fail}
//                        until SIGTERM/SIGINT (then Client::Stop), or until
//                        its parent dies. --inline: Echo runs on the stream
//                        thread (odd-numbered clients do).
//
// Every call gets a record before it starts; its completion must come
// exactly once (a second one is counted as double_completed), with a status
// the call allows (e.g. an echo never ends NOT_FOUND; a DEADLINE_EXCEEDED
// never comes before the deadline), and an answer equal to the expected one.
// A call still unfinished long after its deadline is hung; if the server no
// longer holds it, it is lost.
//
// Parameters (environment, or --duration/--clients/--seed in server mode):
//   SOAK_DURATION_S (60) SOAK_CLIENTS (12) SOAK_SEED (random; printed)
//   SOAK_WARMUP_S (3) SOAK_CALLERS (6 blocking caller threads)
//   SOAK_ASYNC (256 async calls in flight at most)
//   SOAK_RATE (800 async calls/s at most) SOAK_CALLER_RATE (50/s per caller)
//   SOAK_GRACE_MS (1500: ServerOptions::resume_grace)
//   SOAK_MAX_TIMEOUT_MS (4000: longest call timeout)
//   SOAK_CHAOS_MS (600: mean time between kills/graceful stops)
//   SOAK_MAX_PENDING (64: ServerOptions::max_pending_per_client)
//   SOAK_RSS_SLACK_MB (8) SOAK_THREAD_SLACK (0): allowed growth.
//   SOAK_INJECT (drop|double|leak): a fault in this program, to check that
//   the checks catch it (the run must fail).
// Diagnostics and progress go to stderr; the SOAK line to stdout.
#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "proto/cancellation.h"
#include "proto/status_codes.h"
#include "proto/stop_signals.h"
#include "proto/sync.h"
#include "server/server.h"

namespace {

constexpr char kEcho[] = "soak.Soak/Echo";
constexpr char kSlow[] = "soak.Soak/Slow";
constexpr char kFail[] = "soak.Soak/Fail";
constexpr char kMissing[] = "soak.Soak/Missing";  // no client has a handler

int64_t Env(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  int64_t out;
  if (v == nullptr || !absl::SimpleAtoi(v, &out)) return fallback;
  return out;
}

// "--name value" or "--name=value" from argv; else the environment variable;
// else the fallback.
std::string Arg(int argc, char** argv, const std::string& name,
                const char* env, const std::string& fallback) {
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == name && i + 1 < argc) return argv[i + 1];
    if (a.rfind(name + "=", 0) == 0) return a.substr(name.size() + 1);
  }
  const char* v = env != nullptr ? std::getenv(env) : nullptr;
  return v != nullptr ? v : fallback;
}

int64_t ArgInt(int argc, char** argv, const std::string& name, const char* env,
               int64_t fallback) {
  int64_t out;
  std::string v = Arg(argc, argv, name, env, "");
  return absl::SimpleAtoi(v, &out) ? out : fallback;
}

// A non-negative integer member of a flat JSON object; -1 if absent.
int64_t JsonInt(absl::string_view json, absl::string_view key) {
  const std::string needle = absl::StrCat("\"", key, "\":");
  size_t at = json.find(needle);
  if (at == absl::string_view::npos) return -1;
  at += needle.size();
  size_t end = at;
  while (end < json.size() && json[end] >= '0' && json[end] <= '9') ++end;
  int64_t v;
  return absl::SimpleAtoi(json.substr(at, end - at), &v) ? v : -1;
}

std::string SlowAnswer(int64_t ms) { return absl::StrCat("{\"slept\":", ms, "}"); }

// ---------------------------------------------------------------- client --

int RunClient(const std::string& id, int port, bool inline_echo) {
  sserpc::BlockStopSignals();
  sserpc::ClientOptions options;
  options.server_url = absl::StrCat("http://127.0.0.1:", port);
  options.client_id = id;
  options.max_concurrent_calls = 64;
  options.reconnect_initial = absl::Milliseconds(50);
  options.reconnect_max = absl::Milliseconds(500);
  options.stream_read_timeout = absl::Seconds(10);  // server heartbeat: 2 s
  sserpc::Client client(options);
  // --inline: echo on the stream thread (HandlerOptions), as quick
  // handlers may; the orchestrator gives it to every other client.
  sserpc::HandlerOptions echo_options;
  echo_options.run_on_stream_thread = inline_echo;
  absl::Status s = client.Register(
      kEcho,
      [](sserpc::CallContext&, absl::string_view payload) {
        return absl::StatusOr<std::string>(std::string(payload));
      },
      echo_options);
  if (s.ok()) {
    // Sleeps `ms`, unless the call is cancelled first (server's cancel, the
    // deadline, or Client::Stop): then gives back the cancellation, which is
    // not answered (on Stop the call stays pending and is redelivered).
    s = client.Register(kSlow, [](sserpc::CallContext& ctx,
                                  absl::string_view payload) {
      const int64_t ms = std::max<int64_t>(0, JsonInt(payload, "ms"));
      if (ctx.cancellation().WaitWithTimeout(absl::Milliseconds(ms))) {
        return absl::StatusOr<std::string>(ctx.cancel_status());
      }
      return absl::StatusOr<std::string>(SlowAnswer(ms));
    });
  }
  if (s.ok()) {
    s = client.Register(kFail, [](sserpc::CallContext&,
                                  absl::string_view payload) {
      const int64_t code = JsonInt(payload, "code");
      return absl::StatusOr<std::string>(
          absl::Status(static_cast<absl::StatusCode>(code > 0 ? code : 2),
                       "soak: failing on purpose"));
    });
  }
  if (s.ok()) s = client.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "soak client %s: %s\n", id.c_str(), s.ToString().c_str());
    return 1;
  }
  sserpc::WaitForStopSignal();
  client.Stop(absl::Seconds(1));
  if (!client.status().ok()) {
    // The client stopped on its own before (refused, or taken over): the
    // orchestrator never runs two processes with one id, so this is wrong.
    std::fprintf(stderr, "soak client %s: stopped on its own: %s\n", id.c_str(),
                 client.status().ToString().c_str());
    return 3;
  }
  return 0;
}

// ---------------------------------------------------------- orchestrator --

struct Config {
  int64_t duration_s, clients, warmup_s, callers, async_inflight, rate,
      caller_rate;
  uint64_t seed;
  absl::Duration grace, liveness, heartbeat, max_timeout, chaos_mean;
  double rss_slack_mb;
  int64_t thread_slack;
  int64_t max_pending_per_client;
  // Testing the soak itself: "drop" (a completion not recorded: lost),
  // "double" (one recorded twice), "leak" (512 bytes kept per async call).
  std::string inject;
};

double ProcStatus(const char* field) {  // VmRSS in MB, Threads as a count
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) != 0) continue;
    std::string digits;
    for (char c : line.substr(std::string(field).size())) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    int64_t v = 0;
    absl::SimpleAtoi(digits, &v);
    return std::string(field) == "VmRSS:" ? v / 1024.0 : static_cast<double>(v);
  }
  return 0;
}

uint32_t Bit(absl::StatusCode code) { return 1u << static_cast<int>(code); }

enum class Kind {
  kEcho, kSlow, kFail, kMissing, kDeadClient, kGhost, kPreCancelled, kTooLarge
};
constexpr int kKinds = 8;
const char* const kKindNames[kKinds] = {
    "echo", "slow", "fail", "missing", "dead_client", "ghost", "pre_cancelled",
    "too_large"};
// ServerOptions for the soak that differ from the defaults: small enough
// that the soak reaches them (refusals are checked against the counters).
constexpr size_t kMaxBodyBytes = 64 << 10;

// The record of one call, from just before it starts until it ends.
struct Record {
  Kind kind;
  uint32_t allowed = 0;       // status codes this call may end with
  absl::Time deadline;        // no later than the server's deadline
  std::string expected;       // the exact answer, when it ends OK
  bool async = false;         // CallAsync (else a blocking Call)
  bool returned = false;      // CallAsync has returned
  std::string call_id;        // what CallAsync returned ("": ended at once)
};

class Ledger {
 public:
  uint64_t Issue(Record r) {
    sserpc::MutexLock lock(&mu_);
    const uint64_t seq = next_seq_++;
    ++issued_;
    ++issued_by_kind_[static_cast<int>(r.kind)];
    max_deadline_ = std::max(max_deadline_, r.deadline);
    open_.emplace(seq, std::move(r));
    return seq;
  }

  void SetCallId(uint64_t seq, const std::string& call_id) {
    sserpc::MutexLock lock(&mu_);
    auto it = open_.find(seq);
    if (it == open_.end()) return;
    it->second.returned = true;
    it->second.call_id = call_id;
  }

  void Complete(uint64_t seq, const sserpc::CallResult& r) {
    const absl::Time now = absl::Now();
    sserpc::MutexLock lock(&mu_);
    auto it = open_.find(seq);
    if (it == open_.end()) {
      // Records are made before their call starts and removed by their
      // first completion: this is a second one.
      if (double_completed_++ < 5) {
        std::fprintf(stderr, "soak: call #%llu completed again: %s\n",
                     static_cast<unsigned long long>(seq),
                     r.status().ToString().c_str());
      }
      return;
    }
    const Record& rec = it->second;
    const absl::StatusCode code = r.status().code();
    ++outcomes_[static_cast<int>(code)];
    ++outcomes_by_kind_[static_cast<int>(rec.kind)][static_cast<int>(code)];
    if ((rec.allowed & Bit(code)) == 0 && unexpected_++ < 10) {
      std::fprintf(stderr, "soak: call #%llu (%s) ended with %s\n",
                   static_cast<unsigned long long>(seq),
                   kKindNames[static_cast<int>(rec.kind)],
                   r.status().ToString().c_str());
    }
    if (r.ok() && !rec.expected.empty() && *r != rec.expected &&
        wrong_answers_++ < 5) {
      std::fprintf(stderr, "soak: call #%llu answered %.80s, expected %.80s\n",
                   static_cast<unsigned long long>(seq), r->c_str(),
                   rec.expected.c_str());
    }
    if (code == absl::StatusCode::kDeadlineExceeded &&
        now < rec.deadline - absl::Milliseconds(2) && early_deadline_++ < 5) {
      std::fprintf(stderr, "soak: call #%llu ended DEADLINE_EXCEEDED %s early\n",
                   static_cast<unsigned long long>(seq),
                   absl::FormatDuration(rec.deadline - now).c_str());
    }
    const absl::Duration late = now - rec.deadline;
    if (late > absl::Seconds(1)) ++late_over_1s_;
    max_late_ = std::max(max_late_, late);
    open_.erase(it);
  }

  // Waits until no call is open or `until` passes; returns the open count.
  size_t WaitAllDone(absl::Time until) {
    sserpc::MutexLock lock(&mu_);
    mu_.AwaitWithDeadline(sserpc::Condition(
                              +[](Ledger* l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->mu_) {
                                return l->open_.empty();
                              },
                              this),
                          until);
    return open_.size();
  }

  size_t open() {
    sserpc::MutexLock lock(&mu_);
    return open_.size();
  }
  absl::Time max_deadline() {
    sserpc::MutexLock lock(&mu_);
    return max_deadline_;
  }
  // The records of the calls still open.
  std::vector<Record> OpenCalls() {
    sserpc::MutexLock lock(&mu_);
    std::vector<Record> out;
    for (const auto& [seq, rec] : open_) out.push_back(rec);
    return out;
  }

  struct Totals {
    uint64_t issued = 0, double_completed = 0, unexpected = 0,
             wrong_answers = 0, early_deadline = 0, late_over_1s = 0, open = 0;
    double max_late_ms = 0;
    std::array<uint64_t, 17> outcomes{};
    std::array<uint64_t, kKinds> issued_by_kind{};
    std::array<std::array<uint64_t, 17>, kKinds> outcomes_by_kind{};
  };
  Totals totals() {
    sserpc::MutexLock lock(&mu_);
    Totals t;
    t.issued = issued_;
    t.double_completed = double_completed_;
    t.unexpected = unexpected_;
    t.wrong_answers = wrong_answers_;
    t.early_deadline = early_deadline_;
    t.late_over_1s = late_over_1s_;
    t.open = open_.size();
    t.max_late_ms = std::max(0.0, absl::ToDoubleMilliseconds(max_late_));
    t.outcomes = outcomes_;
    t.issued_by_kind = issued_by_kind_;
    t.outcomes_by_kind = outcomes_by_kind_;
    return t;
  }

 private:
  sserpc::Mutex mu_;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, Record> open_ ABSL_GUARDED_BY(mu_);
  absl::Time max_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t issued_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t double_completed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t unexpected_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t wrong_answers_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t early_deadline_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t late_over_1s_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration max_late_ ABSL_GUARDED_BY(mu_) = -absl::InfiniteDuration();
  std::array<uint64_t, 17> outcomes_ ABSL_GUARDED_BY(mu_){};
  std::array<uint64_t, kKinds> issued_by_kind_ ABSL_GUARDED_BY(mu_){};
  std::array<std::array<uint64_t, 17>, kKinds> outcomes_by_kind_
      ABSL_GUARDED_BY(mu_){};
};

// Cancels at given times: a Cancellation (with a status), or a call by id.
class Canceller {
 public:
  explicit Canceller(sserpc::Server* server)
      : server_(server), thread_([this] { Run(); }) {}
  ~Canceller() {
    {
      sserpc::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }
  void At(absl::Time when, std::shared_ptr<sserpc::Cancellation> c,
          absl::Status status) {
    Add(Item{when, std::move(c), std::move(status), ""});
  }
  void CallAt(absl::Time when, std::string call_id) {
    Add(Item{when, nullptr, absl::OkStatus(), std::move(call_id)});
  }

 private:
  struct Item {
    absl::Time when;
    std::shared_ptr<sserpc::Cancellation> cancellation;
    absl::Status status;
    std::string call_id;
    bool operator>(const Item& o) const { return when > o.when; }
  };
  void Add(Item item) {
    sserpc::MutexLock lock(&mu_);
    items_.push(std::move(item));
  }
  void Run() {
    while (true) {
      std::vector<Item> due;
      {
        sserpc::MutexLock lock(&mu_);
        if (stop_) return;
        const absl::Time now = absl::Now();
        while (!items_.empty() && items_.top().when <= now) {
          due.push_back(items_.top());
          items_.pop();
        }
      }
      for (Item& item : due) {
        if (item.cancellation != nullptr) {
          item.cancellation->Cancel(item.status);
        } else {
          server_->Cancel(item.call_id);
        }
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
  }

  sserpc::Server* const server_;
  sserpc::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> items_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: starts after the rest is built
};

// Which client ids exist, and which are dead now (written by the chaos loop,
// read by the callers to aim calls at dead clients).
struct Roster {
  std::vector<std::string> ids;
  std::unique_ptr<std::atomic<bool>[]> dead;
  explicit Roster(int64_t n) : dead(new std::atomic<bool>[n]) {
    for (int64_t i = 0; i < n; ++i) {
      ids.push_back(absl::StrCat("s", i));
      dead[i] = true;
    }
  }
};

// One call to make, chosen at random.
struct Plan {
  Record record;
  std::string client;
  std::string method;
  std::string payload;
  sserpc::CallOptions options;
  bool cancel_by_id = false;
  absl::Duration cancel_by_id_after;
  bool chain = false;  // async: start another call from the callback
};

class Planner {
 public:
  Planner(const Config& config, const Roster& roster, Canceller& canceller,
          uint64_t seed)
      : config_(config), roster_(roster), canceller_(canceller), rng_(seed) {}

  Plan Next(bool async) {
    Plan p;
    static const std::discrete_distribution<int>::param_type kWeights(
        {40, 22, 12, 3, 12, 4, 2, 1});  // in Kind order
    const Kind kind = static_cast<Kind>(kind_dist_(rng_, kWeights));
    p.record.kind = kind;
    const int64_t n = static_cast<int64_t>(roster_.ids.size());
    const int64_t pick = Uniform(0, n - 1);
    p.client = roster_.ids[pick];
    if (kind == Kind::kDeadClient) {
      for (int64_t i = 0; i < n; ++i) {
        if (roster_.dead[(pick + i) % n]) {
          p.client = roster_.ids[(pick + i) % n];
          break;
        }
      }
    } else if (kind == Kind::kGhost) {
      p.client = absl::StrCat("ghost", Uniform(0, 3));
    }

    const double r = Real();
    const int64_t max_ms = absl::ToInt64Milliseconds(config_.max_timeout);
    p.options.timeout = absl::Milliseconds(
        r < 0.06 ? Uniform(1, 25) : r < 0.2 ? Uniform(30, 400) : Uniform(400, max_ms));
    p.options.wait_for_client = Real() < (kind == Kind::kGhost ? 0.3 : 0.15);
    // Any call may meet its deadline, an absent client, or a full
    // max_pending_per_client (a dead client's calls pile up in its grace).
    uint32_t allowed = Bit(absl::StatusCode::kDeadlineExceeded) |
                       Bit(absl::StatusCode::kUnavailable) |
                       Bit(absl::StatusCode::kResourceExhausted);

    switch (kind) {
      case Kind::kEcho:
      case Kind::kDeadClient:
      case Kind::kPreCancelled:
        if (kind == Kind::kDeadClient && Real() < 0.5) {
          MakeSlow(p, max_ms);
        } else {
          p.method = kEcho;
          p.payload = absl::StrCat("{\"n\":", Uniform(0, 1 << 30), ",\"pad\":\"",
                                   std::string(Uniform(0, 600), 'x'), "\"}");
          p.record.expected = p.payload;
        }
        allowed |= Bit(absl::StatusCode::kOk);
        break;
      case Kind::kSlow:
        MakeSlow(p, max_ms);
        allowed |= Bit(absl::StatusCode::kOk);
        break;
      case Kind::kFail: {
        static constexpr absl::StatusCode kCodes[] = {
            absl::StatusCode::kNotFound, absl::StatusCode::kFailedPrecondition,
            absl::StatusCode::kPermissionDenied, absl::StatusCode::kOutOfRange};
        const absl::StatusCode code = kCodes[Uniform(0, 3)];
        p.method = kFail;
        p.payload = absl::StrCat("{\"code\":", static_cast<int>(code), "}");
        allowed |= Bit(code);
        break;
      }
      case Kind::kMissing:
        p.method = kMissing;
        p.payload = "{}";
        allowed |= Bit(absl::StatusCode::kUnimplemented);
        break;
      case Kind::kGhost:
        p.method = kEcho;
        p.payload = "{}";
        break;  // nobody ever answers
      case Kind::kTooLarge:  // refused at once: RESOURCE_EXHAUSTED
        p.method = kEcho;
        p.payload = absl::StrCat("{\"pad\":\"", std::string(kMaxBodyBytes, 'x'),
                                 "\"}");
        break;
    }

    // Cancellation: already cancelled, one of its own, one shared with other
    // calls, or (async) Server::Cancel by call id.
    const double c = Real();
    const absl::Time now = absl::Now();
    if (kind == Kind::kPreCancelled) {
      auto cancellation = std::make_shared<sserpc::Cancellation>();
      absl::Status why = RandomCancelStatus(&allowed);
      cancellation->Cancel(why);
      p.options.cancellation = cancellation;
    } else if (c < 0.12) {
      auto cancellation = std::make_shared<sserpc::Cancellation>();
      canceller_.At(now + absl::Milliseconds(Uniform(0, 1500)), cancellation,
                    RandomCancelStatus(&allowed));
      p.options.cancellation = cancellation;
    } else if (c < 0.16) {
      if (group_ == nullptr || group_uses_ == 0) {
        group_ = std::make_shared<sserpc::Cancellation>();
        group_uses_ = Uniform(2, 8);
        canceller_.At(now + absl::Milliseconds(Uniform(50, 1500)), group_,
                      absl::CancelledError("soak: group cancelled"));
      }
      --group_uses_;
      p.options.cancellation = group_;
      allowed |= Bit(absl::StatusCode::kCancelled);
    } else if (async && c < 0.20) {
      p.cancel_by_id = true;
      p.cancel_by_id_after = absl::Milliseconds(Uniform(0, 1000));
      allowed |= Bit(absl::StatusCode::kCancelled);
    }
    p.record.allowed = allowed;
    p.record.deadline = now + p.options.timeout;
    p.chain = async && Real() < 0.1;
    return p;
  }

 private:
  void MakeSlow(Plan& p, int64_t max_ms) {
    // Mostly within the longest timeout; some never finish in time.
    const int64_t ms = Real() < 0.1 ? Uniform(max_ms, 2 * max_ms) : Uniform(0, 2500);
    p.method = kSlow;
    p.payload = absl::StrCat("{\"ms\":", ms, "}");
    p.record.expected = SlowAnswer(ms);
  }
  absl::Status RandomCancelStatus(uint32_t* allowed) {
    if (Real() < 0.2) {
      *allowed |= Bit(absl::StatusCode::kAborted);
      return absl::AbortedError("soak: cancelled with ABORTED");
    }
    *allowed |= Bit(absl::StatusCode::kCancelled);
    return absl::CancelledError("soak: cancelled");
  }
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  double Real() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  const Config& config_;
  const Roster& roster_;
  Canceller& canceller_;
  std::mt19937_64 rng_;
  std::discrete_distribution<int> kind_dist_;
  std::shared_ptr<sserpc::Cancellation> group_;
  int64_t group_uses_ = 0;
};

// Blocking caller threads plus one thread keeping async calls in flight.
class Load {
 public:
  Load(const Config& config, sserpc::Server& server, Ledger& ledger,
       Canceller& canceller, const Roster& roster, uint64_t seed,
       std::string inject = "")
      : config_(config), server_(server), ledger_(ledger), inject_(std::move(inject)) {
    const int64_t threads = config.callers + 1;
    // The async issuer is paced to SOAK_RATE; each blocking caller to
    // SOAK_CALLER_RATE (it also waits for its call, often a slow one).
    auto per_call = [](int64_t rate) {
      return rate > 0 ? absl::Seconds(1) / rate : absl::ZeroDuration();
    };
    const absl::Duration interval = per_call(config.caller_rate);
    const absl::Duration async_interval = per_call(config.rate);
    for (int64_t t = 0; t <= threads; ++t) {  // the last one: chained calls
      planners_.push_back(
          std::make_unique<Planner>(config, roster, canceller, seed + 1000 + t));
    }
    chain_planner_ = std::move(planners_.back());
    planners_.pop_back();
    running_ = threads;
    for (int64_t t = 0; t < config.callers; ++t) {
      threads_.emplace_back([this, t, interval] { Caller(*planners_[t], interval); });
    }
    threads_.emplace_back([this, async_interval, &canceller] {
      AsyncIssuer(*planners_.back(), async_interval, canceller);
    });
  }

  // Stops issuing; returns false if a caller thread did not return by
  // `until` (a blocking call that hangs); those threads are then left alone.
  bool Stop(absl::Time until) {
    bool all;
    {
      sserpc::MutexLock lock(&mu_);
      stop_ = true;
      all = mu_.AwaitWithDeadline(
          sserpc::Condition(
              +[](Load* l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->mu_) {
                return l->running_ == 0;
              },
              this),
          until);
    }
    for (std::thread& t : threads_) {
      if (all) {
        t.join();
      } else {
        t.detach();
      }
    }
    threads_.clear();
    return all;
  }

 private:
  bool Stopped() {
    sserpc::MutexLock lock(&mu_);
    return stop_;
  }
  void Exited() {
    sserpc::MutexLock lock(&mu_);
    --running_;
  }
  static void Pace(absl::Time* next, absl::Duration interval) {
    if (interval <= absl::ZeroDuration()) return;
    *next = std::max(*next + interval, absl::Now() - interval * 10);
    absl::SleepFor(*next - absl::Now());
  }

  void Caller(Planner& planner, absl::Duration interval) {
    absl::Time next = absl::Now();
    while (!Stopped()) {
      Plan p = planner.Next(/*async=*/false);
      const uint64_t seq = ledger_.Issue(std::move(p.record));
      sserpc::CallResult r =
          server_.Call(p.client, p.method, std::move(p.payload), p.options);
      ledger_.Complete(seq, r);
      Pace(&next, interval);
    }
    Exited();
  }

  void AsyncIssuer(Planner& planner, absl::Duration interval,
                   Canceller& canceller) {
    absl::Time next = absl::Now();
    while (true) {
      {
        sserpc::MutexLock lock(&mu_);
        mu_.Await(sserpc::Condition(
            +[](Load* l) ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->mu_) {
              return l->stop_ || l->in_flight_ < l->config_.async_inflight;
            },
            this));
        if (stop_) break;
        ++in_flight_;
      }
      Start(planner.Next(/*async=*/true), canceller, /*may_chain=*/true);
      Pace(&next, interval);
    }
    Exited();
  }

  // Starts an async call. With `may_chain`, one call in ten starts another
  // from its completion callback (the server writes such requests when the
  // callbacks of answers that arrived together have all returned).
  void Start(Plan p, Canceller& canceller, bool may_chain) {
    const bool chain = may_chain && p.chain;
    p.record.async = true;
    const uint64_t seq = ledger_.Issue(std::move(p.record));
    const std::string call_id = server_.CallAsync(
        p.client, p.method, std::move(p.payload), p.options,
        [this, seq, chain, &canceller](sserpc::CallResult r) {
          // SOAK_INJECT: faults in this program, to see the checks fire.
          const bool inject = seq % 997 == 0;
          const bool drop = inject && inject_ == "drop";
          const bool twice = inject && inject_ == "double";
          Ledger& ledger = ledger_;
          if (inject_ == "leak") {
            char* leak = new char[512];
            std::fill(leak, leak + 512, 1);
          }
          bool go_on = false;
          {
            sserpc::MutexLock lock(&mu_);
            go_on = chain && !stop_;
            if (go_on) ++chained_;
            else --in_flight_;  // a chained call takes over the slot
          }
          if (go_on) {
            Plan next;
            {
              sserpc::MutexLock lock(&chain_mu_);
              next = chain_planner_->Next(/*async=*/true);
            }
            Start(std::move(next), canceller, /*may_chain=*/false);
          }
          // Last: once the ledger has no open call, RunServer destroys this
          // Load, so nothing of it may be touched after (a chained call was
          // issued above, keeping the ledger open).
          if (!drop) ledger.Complete(seq, r);
          if (twice) ledger.Complete(seq, r);
        });
    ledger_.SetCallId(seq, call_id);
    if (!call_id.empty()) {
      if (p.cancel_by_id) {
        canceller.CallAt(absl::Now() + p.cancel_by_id_after, call_id);
      }
    }
  }

 public:
  uint64_t chained() {
    sserpc::MutexLock lock(&mu_);
    return chained_;
  }

 private:

  const Config& config_;
  sserpc::Server& server_;
  Ledger& ledger_;
  const std::string inject_;  // SOAK_INJECT, in the soak phase only
  std::vector<std::unique_ptr<Planner>> planners_;
  sserpc::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t running_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t chained_ ABSL_GUARDED_BY(mu_) = 0;
  sserpc::Mutex chain_mu_;
  std::unique_ptr<Planner> chain_planner_ ABSL_GUARDED_BY(chain_mu_);
  std::vector<std::thread> threads_;
};

// The client processes: spawned, killed, stopped and restarted from the
// main thread only (PR_SET_PDEATHSIG follows the thread that forked).
class Fleet {
 public:
  Fleet(const Config& config, Roster& roster, int port, uint64_t seed)
      : config_(config), roster_(roster), port_(port), rng_(seed),
        slots_(roster.ids.size()) {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    self_ = n > 0 ? std::string(buf, n) : "sserpc-soak";
    max_fd_ = static_cast<int>(sysconf(_SC_OPEN_MAX));
  }
  ~Fleet() {
    for (Slot& s : slots_) {
      if (s.pid > 0) {
        kill(s.pid, SIGKILL);
        waitpid(s.pid, nullptr, 0);
      }
    }
  }

  void StartAll() {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == State::kDead) Spawn(i);
    }
  }

  // SIGTERM to every live client (Client::Stop), then waits for them all.
  // Returns false if one did not exit in time (it is then killed).
  bool StopAll(absl::Duration timeout) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == State::kAlive) BeginStop(i);
    }
    const absl::Time until = absl::Now() + timeout;
    while (absl::Now() < until) {
      Reap(/*restart=*/false);
      if (std::none_of(slots_.begin(), slots_.end(),
                       [](const Slot& s) { return s.pid > 0; })) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    Reap(false);
    bool ok = true;
    for (Slot& s : slots_) {
      if (s.pid > 0) {
        ok = false;
        ++stop_timeouts;
        std::fprintf(stderr, "soak: a client did not stop within %s\n",
                     absl::FormatDuration(timeout).c_str());
        kill(s.pid, SIGKILL);
        waitpid(s.pid, nullptr, 0);
        s.pid = -1;
        s.state = State::kDead;
      }
    }
    return ok;
  }

  // One step of chaos: reap exits, restart what is due, maybe kill or stop
  // one client. Call often (every few ms).
  void Tick() {
    const absl::Time now = absl::Now();
    Reap(/*restart=*/true);
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == State::kDead && slots_[i].restart_at <= now) {
        Spawn(i);
        ++restarts;
      }
    }
    if (next_action_ == absl::InfinitePast()) next_action_ = now + NextGap();
    if (now < next_action_) return;
    next_action_ = now + NextGap();
    std::vector<size_t> alive;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == State::kAlive) alive.push_back(i);
    }
    if (alive.size() * 2 <= slots_.size()) return;  // keep half alive
    const size_t i = alive[Uniform(0, alive.size() - 1)];
    if (Real() < 0.8) {
      kill(slots_[i].pid, SIGKILL);
      waitpid(slots_[i].pid, nullptr, 0);
      slots_[i].pid = -1;
      MarkDead(i, now + RestartDelay());
      ++kills;
    } else {
      BeginStop(i);
      ++graceful_stops;
    }
  }

  // Restarts every dead client now (end of the chaos).
  void ReviveAll() {
    Reap(false);
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].state == State::kDead) {
        Spawn(i);
        ++restarts;
      }
    }
  }

  uint64_t kills = 0, restarts = 0, graceful_stops = 0, unexpected_exits = 0,
           bad_exit_codes = 0, stop_timeouts = 0;
  // Restarts planned within the resume grace, or after it.
  uint64_t restarts_in_grace = 0, restarts_after_grace = 0;

 private:
  enum class State { kDead, kAlive, kStopping };
  struct Slot {
    State state = State::kDead;
    pid_t pid = -1;
    absl::Time restart_at = absl::InfiniteFuture();
    absl::Time stop_deadline;
  };

  void Spawn(size_t i) {
    std::vector<std::string> args = {self_, "client", "--id", roster_.ids[i],
                                     "--port", absl::StrCat(port_)};
    if (i % 2 == 1) args.push_back("--inline");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const int max_fd = max_fd_;
    // A SIGTERM that comes before the client has blocked it itself must not
    // kill it: the mask is kept across exec.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    const pid_t pid = fork();
    if (pid == 0) {
      // Async-signal-safe calls only until exec.
      sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      // cpp-httplib does not open its sockets with O_CLOEXEC: close every
      // inherited descriptor, or the client would hold the server's sockets.
      if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
        for (int fd = 3; fd < max_fd; ++fd) close(fd);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (pid < 0) {
      std::perror("soak: fork");
      return;
    }
    slots_[i].pid = pid;
    slots_[i].state = State::kAlive;
    slots_[i].restart_at = absl::InfiniteFuture();
    roster_.dead[i] = false;
  }

  void MarkDead(size_t i, absl::Time restart_at) {
    slots_[i].state = State::kDead;
    slots_[i].restart_at = restart_at;
    roster_.dead[i] = true;
  }

  void BeginStop(size_t i) {
    kill(slots_[i].pid, SIGTERM);
    slots_[i].state = State::kStopping;
    slots_[i].stop_deadline = absl::Now() + absl::Seconds(10);
    roster_.dead[i] = true;
  }

  void Reap(bool restart) {
    const absl::Time now = absl::Now();
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.pid <= 0) continue;
      int status = 0;
      const pid_t r = waitpid(s.pid, &status, WNOHANG);
      if (r == s.pid) {
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        if (s.state == State::kAlive) {
          ++unexpected_exits;
          std::fprintf(stderr, "soak: client %s exited by itself (%d)\n",
                       roster_.ids[i].c_str(), code);
        } else if (code != 0) {
          ++bad_exit_codes;
          std::fprintf(stderr, "soak: client %s stopped with exit code %d\n",
                       roster_.ids[i].c_str(), code);
        }
        s.pid = -1;
        MarkDead(i, restart ? now + RestartDelay() : absl::InfiniteFuture());
      } else if (s.state == State::kStopping && now > s.stop_deadline) {
        ++stop_timeouts;
        std::fprintf(stderr, "soak: client %s did not stop within 10 s\n",
                     roster_.ids[i].c_str());
        kill(s.pid, SIGKILL);
      }
    }
  }

  // Half the restarts come within the resume grace, half too late. The
  // grace starts when the server notices the closed connection: within
  // `liveness` while the client has calls pending, else at the next
  // heartbeat; "too late" allows for the longer.
  absl::Duration RestartDelay() {
    const int64_t grace = absl::ToInt64Milliseconds(config_.grace);
    const int64_t notice = absl::ToInt64Milliseconds(
        std::max(config_.liveness, config_.heartbeat));
    if (Real() < 0.5) {
      ++restarts_in_grace;
      return absl::Milliseconds(Uniform(0, grace * 7 / 10));
    }
    ++restarts_after_grace;
    return absl::Milliseconds(
        Uniform(grace + notice + 200, grace * 5 / 2 + notice + 200));
  }
  absl::Duration NextGap() {
    std::exponential_distribution<double> d(
        1.0 / absl::ToDoubleMilliseconds(config_.chaos_mean));
    return absl::Milliseconds(d(rng_));
  }
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  double Real() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  const Config& config_;
  Roster& roster_;
  const int port_;
  std::mt19937_64 rng_;
  std::vector<Slot> slots_;
  std::string self_;
  int max_fd_ = 1024;
  absl::Time next_action_ = absl::InfinitePast();
};

bool WaitAllConnected(sserpc::Server& server, size_t n, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    size_t connected = 0;
    for (const sserpc::ClientInfo& c : server.Clients()) {
      connected += c.state == "connected" && c.client_id[0] == 's';
    }
    if (connected >= n) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

// Waits until the server holds no stream and no session (the grace of the
// stopped clients has run out) and the thread count has been steady for a
// second; then trims the heap and measures.
struct Measure {
  double rss_mb = 0;
  int64_t threads = 0;
  bool settled = false;
};
Measure Settle(sserpc::Server& server, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  int64_t last_threads = -1;
  absl::Time steady_since = absl::Now();
  Measure m;
  while (absl::Now() < until) {
    const sserpc::ServerStats s = server.Stats();
    const bool empty = s.open_streams == 0 && s.pending_calls == 0 &&
                       server.Clients().empty();
    const int64_t threads = static_cast<int64_t>(ProcStatus("Threads:"));
    if (threads != last_threads) {
      last_threads = threads;
      steady_since = absl::Now();
    }
    if (empty && absl::Now() - steady_since >= absl::Seconds(1)) {
      m.settled = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  malloc_trim(0);  // measure what is in use, not what malloc keeps cached
  m.rss_mb = ProcStatus("VmRSS:");
  m.threads = static_cast<int64_t>(ProcStatus("Threads:"));
  return m;
}

std::string StatsJson(const sserpc::ServerStats& s) {
  return absl::StrCat(
      "{\"calls_started\":", s.calls_started, ",\"calls_answered\":",
      s.calls_answered, ",\"calls_failed\":", s.calls_failed,
      ",\"pending_calls\":", s.pending_calls, ",\"open_streams\":",
      s.open_streams, ",\"streams_opened\":", s.streams_opened,
      ",\"refused_pending_per_client\":", s.refused_pending_per_client,
      ",\"refused_pending_total\":", s.refused_pending_total,
      ",\"refused_outbox_full\":", s.refused_outbox_full,
      ",\"refused_payload_too_large\":", s.refused_payload_too_large,
      ",\"refused_max_clients\":", s.refused_max_clients,
      ",\"clients_cut_off\":", s.clients_cut_off, "}");
}

sserpc::ServerStats Delta(const sserpc::ServerStats& a,
                          const sserpc::ServerStats& b) {
  sserpc::ServerStats d = b;  // gauges as at the end
  d.calls_started -= a.calls_started;
  d.calls_answered -= a.calls_answered;
  d.calls_failed -= a.calls_failed;
  d.streams_opened -= a.streams_opened;
  d.refused_pending_per_client -= a.refused_pending_per_client;
  d.refused_pending_total -= a.refused_pending_total;
  d.refused_outbox_full -= a.refused_outbox_full;
  d.refused_payload_too_large -= a.refused_payload_too_large;
  d.refused_max_clients -= a.refused_max_clients;
  d.clients_cut_off -= a.clients_cut_off;
  return d;
}

std::string CodeCounts(const std::array<uint64_t, 17>& counts) {
  std::vector<std::string> parts;
  for (int c = 0; c < 17; ++c) {
    if (counts[c] == 0) continue;
    parts.push_back(absl::StrCat(
        "\"", sserpc::StatusCodeName(static_cast<absl::StatusCode>(c)),
        "\":", counts[c]));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

int RunServer(const Config& config) {
  std::fprintf(stderr,
               "soak: seed %llu (SOAK_SEED=%llu reproduces the choices), "
               "%lld s, %lld clients\n",
               static_cast<unsigned long long>(config.seed),
               static_cast<unsigned long long>(config.seed),
               static_cast<long long>(config.duration_s),
               static_cast<long long>(config.clients));
  sserpc::ServerOptions options;
  options.resume_grace = config.grace;
  options.liveness_check = config.liveness;
  options.heartbeat = config.heartbeat;
  options.retry_hint = absl::Milliseconds(100);
  options.max_body_bytes = kMaxBodyBytes;
  options.max_pending_per_client = config.max_pending_per_client;
  auto server = std::make_unique<sserpc::Server>(options);
  absl::StatusOr<int> port = server->Start("127.0.0.1", 0);
  if (!port.ok()) {
    std::fprintf(stderr, "soak: %s\n", port.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "soak: listening on 127.0.0.1:%d\n", *port);

  std::vector<std::string> failures;
  Roster roster(config.clients);
  Fleet fleet(config, roster, *port, config.seed);
  const absl::Duration drain_bound = config.max_timeout + absl::Seconds(10);
  const absl::Duration settle_bound = config.grace + absl::Seconds(30);

  // Warm-up: the same load without chaos, so threads, arenas and tables
  // reach their working size before the baseline.
  fleet.StartAll();
  if (!WaitAllConnected(*server, config.clients, absl::Seconds(30))) {
    std::fprintf(stderr, "soak: clients did not connect\n");
    return 1;
  }
  {
    Ledger warm;
    Canceller canceller(server.get());
    Load load(config, *server, warm, canceller, roster, config.seed + 1);
    absl::SleepFor(absl::Seconds(config.warmup_s));
    if (!load.Stop(absl::Now() + drain_bound) ||
        warm.WaitAllDone(absl::Now() + drain_bound) != 0) {
      // Threads or callbacks may still use what is about to be destroyed.
      std::printf("SOAK {\"pass\":false,\"seed\":%llu,\"failures\":"
                  "[\"warm-up calls did not end\"]}\n",
                  static_cast<unsigned long long>(config.seed));
      std::fflush(stdout);
      std::_Exit(1);
    }
    const Ledger::Totals w = warm.totals();
    std::fprintf(stderr, "soak: warm-up: %llu calls\n",
                 static_cast<unsigned long long>(w.issued));
    if (w.double_completed + w.unexpected + w.wrong_answers + w.early_deadline != 0) {
      failures.push_back("warm-up: a call ended wrongly (see above)");
    }
  }
  if (!fleet.StopAll(absl::Seconds(15))) failures.push_back("client stop timed out");
  const Measure baseline = Settle(*server, settle_bound);
  const sserpc::ServerStats stats_baseline = server->Stats();
  std::fprintf(stderr, "soak: baseline RSS %.1f MB, %lld threads%s\n",
               baseline.rss_mb, static_cast<long long>(baseline.threads),
               baseline.settled ? "" : " (did not settle)");
  if (!baseline.settled) failures.push_back("server did not settle before baseline");

  // The soak.
  fleet.StartAll();
  if (!WaitAllConnected(*server, config.clients, absl::Seconds(30))) {
    std::fprintf(stderr, "soak: clients did not reconnect\n");
    return 1;
  }
  Ledger ledger;
  size_t hung = 0, lost = 0;
  bool callers_returned = true;
  double load_s = 0;
  uint64_t chained_calls = 0;
  const absl::Time start = absl::Now();
  {
    Canceller canceller(server.get());
    // Left alive (leaked) if a call never ends: its callback would use it.
    auto load = std::make_unique<Load>(config, *server, ledger, canceller,
                                       roster, config.seed + 2, config.inject);
    const absl::Time end = start + absl::Seconds(config.duration_s);
    absl::Time next_report = start + absl::Seconds(10);
    while (absl::Now() < end) {
      fleet.Tick();
      if (absl::Now() >= next_report) {
        next_report += absl::Seconds(10);
        std::fprintf(stderr,
                     "soak: %.0f s: %llu calls, %zu open, %llu kills, %llu "
                     "restarts, RSS %.1f MB, %d threads\n",
                     absl::ToDoubleSeconds(absl::Now() - start),
                     static_cast<unsigned long long>(ledger.totals().issued),
                     ledger.open(), static_cast<unsigned long long>(fleet.kills),
                     static_cast<unsigned long long>(fleet.restarts),
                     ProcStatus("VmRSS:"),
                     static_cast<int>(ProcStatus("Threads:")));
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    // Stop the load; every call must end by the latest deadline handed out
    // (plus slack for detection and scheduling).
    load_s = absl::ToDoubleSeconds(absl::Now() - start);
    fleet.ReviveAll();
    callers_returned = load->Stop(absl::Now() + drain_bound);
    const absl::Time drain_until = ledger.max_deadline() + absl::Seconds(10);
    size_t open = ledger.WaitAllDone(drain_until);
    if (open != 0) {
      // Still held by the server past its deadline, or a caller stuck in
      // the server: hung. Not held by the server (or refused at once) but
      // never completed: lost.
      for (const Record& rec : ledger.OpenCalls()) {
        const char* what;
        if (!rec.async) {
          what = "hung (blocking Call never returned)";
          ++hung;
        } else if (!rec.returned) {
          what = "hung (CallAsync never returned)";
          ++hung;
        } else if (rec.call_id.empty()) {
          what = "lost (CallAsync returned \"\" without a callback)";
          ++lost;
        } else if (server->Cancel(rec.call_id)) {
          what = "hung (still pending on the server past its deadline)";
          ++hung;
        } else {
          what = "lost (no longer on the server, callback never ran)";
          ++lost;
        }
        std::fprintf(stderr, "soak: unfinished %s call %s: %s\n",
                     kKindNames[static_cast<int>(rec.kind)],
                     rec.call_id.c_str(), what);
      }
    }
    chained_calls = load->chained();
    if (callers_returned && ledger.open() == 0) load.reset();
    load.release();
  }
  const double drain_s = absl::ToDoubleSeconds(absl::Now() - start) - load_s;
  if (!fleet.StopAll(absl::Seconds(15))) failures.push_back("client stop timed out");
  const Measure end = Settle(*server, settle_bound);
  const sserpc::ServerStats stats_end = server->Stats();
  const sserpc::ServerStats delta = Delta(stats_baseline, stats_end);
  if (!end.settled) failures.push_back("server did not settle at the end");

  const Ledger::Totals t = ledger.totals();
  uint64_t outcomes = 0;
  for (uint64_t c : t.outcomes) outcomes += c;
  const uint64_t ok = t.outcomes[static_cast<int>(absl::StatusCode::kOk)];
  auto check = [&](bool pass, const std::string& what) {
    if (!pass) failures.push_back(what);
  };
  check(t.issued == outcomes + t.open,
        absl::StrCat("issued ", t.issued, " != outcomes ", outcomes, " + open ", t.open));
  check(t.open == 0 && hung == 0 && lost == 0,
        absl::StrCat(t.open, " calls unfinished: ", hung, " hung, ", lost, " lost"));
  check(callers_returned, "a blocking caller never returned");
  check(t.double_completed == 0, "double completions");
  check(t.unexpected == 0, "outcomes a call does not allow");
  check(t.wrong_answers == 0, "wrong answers");
  check(t.early_deadline == 0, "DEADLINE_EXCEEDED before the deadline");
  check(fleet.unexpected_exits == 0, "a client process exited by itself");
  check(fleet.bad_exit_codes == 0, "a stopped client exited non-zero");
  check(fleet.stop_timeouts == 0, "a client did not stop in time");
  check(stats_end.pending_calls == 0, "server still has pending calls");
  check(delta.calls_started == delta.calls_answered + delta.calls_failed,
        "server: calls_started != calls_answered + calls_failed");
  check(delta.calls_answered == ok,
        absl::StrCat("server answered ", delta.calls_answered, " calls; ", ok,
                     " ended OK here"));
  check(t.issued >= delta.calls_started, "server started more calls than issued");
  // Every RESOURCE_EXHAUSTED is a refusal the server counted (no client is
  // cut off here, and no client runs out of workers).
  const uint64_t exhausted =
      t.outcomes[static_cast<int>(absl::StatusCode::kResourceExhausted)];
  const uint64_t refused =
      delta.refused_pending_per_client + delta.refused_pending_total +
      delta.refused_outbox_full + delta.refused_payload_too_large +
      delta.refused_max_clients;
  check(delta.clients_cut_off == 0 && exhausted == refused,
        absl::StrCat(exhausted, " calls ended RESOURCE_EXHAUSTED; the server "
                     "counted ", refused, " refusals and ",
                     delta.clients_cut_off, " cut-offs"));
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer keeps freed memory in quarantine (and finds leaks
  // itself at exit): the RSS figures are reported, not checked.
  std::fprintf(stderr, "soak: AddressSanitizer build: RSS not checked\n");
#else
  check(end.rss_mb <= baseline.rss_mb + config.rss_slack_mb,
        absl::StrCat("RSS grew from ", baseline.rss_mb, " to ", end.rss_mb, " MB"));
#endif
  check(end.threads <= baseline.threads + config.thread_slack,
        absl::StrCat("threads grew from ", baseline.threads, " to ", end.threads));

  std::vector<std::string> by_kind;
  for (int k = 0; k < kKinds; ++k) {
    by_kind.push_back(absl::StrCat("\"", kKindNames[k], "\":{\"issued\":",
                                   t.issued_by_kind[k], ",\"outcomes\":",
                                   CodeCounts(t.outcomes_by_kind[k]), "}"));
  }
  std::vector<std::string> quoted;
  for (const std::string& f : failures) quoted.push_back(absl::StrCat("\"", f, "\""));
  std::printf(
      "SOAK {\"pass\":%s,\"seed\":%llu,\"duration_s\":%.1f,\"drain_s\":%.1f,"
      "\"clients\":%lld,"
      "\"calls_issued\":%llu,\"outcomes\":%s,\"lost\":%zu,"
      "\"double_completed\":%llu,\"hung\":%zu,\"unexpected_outcomes\":%llu,"
      "\"wrong_answers\":%llu,\"early_deadlines\":%llu,"
      "\"late_over_1s\":%llu,\"max_late_ms\":%.1f,\"client_kills\":%llu,"
      "\"client_graceful_stops\":%llu,\"client_restarts\":%llu,"
      "\"restarts_planned_in_grace\":%llu,\"restarts_planned_late\":%llu,"
      "\"client_unexpected_exits\":%llu,\"chained_calls\":%llu,\"rss_baseline_mb\":%.1f,"
      "\"rss_end_mb\":%.1f,\"threads_baseline\":%lld,\"threads_end\":%lld,"
      "\"server_stats\":%s,\"by_kind\":{%s},\"failures\":[%s]}\n",
      failures.empty() ? "true" : "false",
      static_cast<unsigned long long>(config.seed), load_s, drain_s,
      static_cast<long long>(config.clients),
      static_cast<unsigned long long>(t.issued), CodeCounts(t.outcomes).c_str(),
      lost, static_cast<unsigned long long>(t.double_completed), hung,
      static_cast<unsigned long long>(t.unexpected),
      static_cast<unsigned long long>(t.wrong_answers),
      static_cast<unsigned long long>(t.early_deadline),
      static_cast<unsigned long long>(t.late_over_1s), t.max_late_ms,
      static_cast<unsigned long long>(fleet.kills),
      static_cast<unsigned long long>(fleet.graceful_stops),
      static_cast<unsigned long long>(fleet.restarts),
      static_cast<unsigned long long>(fleet.restarts_in_grace),
      static_cast<unsigned long long>(fleet.restarts_after_grace),
      static_cast<unsigned long long>(fleet.unexpected_exits),
      static_cast<unsigned long long>(chained_calls), baseline.rss_mb,
      end.rss_mb, static_cast<long long>(baseline.threads),
      static_cast<long long>(end.threads), StatsJson(delta).c_str(),
      absl::StrJoin(by_kind, ",").c_str(), absl::StrJoin(quoted, ",").c_str());
  std::fflush(stdout);
  for (const std::string& f : failures) std::fprintf(stderr, "soak: FAIL: %s\n", f.c_str());
  if (!callers_returned || hung != 0) {
    // A caller thread is stuck in a call that never ends: do not wait for it
    // in the server's destructor.
    std::fflush(stderr);
    std::_Exit(1);
  }
  server->Stop();
  return failures.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "client") {
    const std::string id = Arg(argc, argv, "--id", "SOAK_CLIENT_ID", "");
    const int64_t port = ArgInt(argc, argv, "--port", "SOAK_PORT", 0);
    if (id.empty() || port <= 0) {
      std::fprintf(stderr, "usage: sserpc-soak client --id ID --port PORT [--inline]\n");
      return 2;
    }
    bool inline_echo = false;
    for (int i = 2; i < argc; ++i) inline_echo |= std::string(argv[i]) == "--inline";
    return RunClient(id, static_cast<int>(port), inline_echo);
  }
  if (mode == "server") {
    Config c;
    c.duration_s = ArgInt(argc, argv, "--duration", "SOAK_DURATION_S", 60);
    c.clients = std::max<int64_t>(2, ArgInt(argc, argv, "--clients", "SOAK_CLIENTS", 12));
    std::random_device rd;
    const uint64_t random_seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    std::string seed = Arg(argc, argv, "--seed", "SOAK_SEED", "");
    if (!absl::SimpleAtoi(seed, &c.seed)) c.seed = random_seed;
    c.warmup_s = Env("SOAK_WARMUP_S", 3);
    c.callers = std::max<int64_t>(1, Env("SOAK_CALLERS", 6));
    c.async_inflight = std::max<int64_t>(1, Env("SOAK_ASYNC", 256));
    c.rate = Env("SOAK_RATE", 800);
    c.caller_rate = Env("SOAK_CALLER_RATE", 50);
    c.grace = absl::Milliseconds(Env("SOAK_GRACE_MS", 1500));
    c.liveness = absl::Milliseconds(250);
    c.heartbeat = absl::Seconds(2);
    c.max_timeout = absl::Milliseconds(std::max<int64_t>(500, Env("SOAK_MAX_TIMEOUT_MS", 4000)));
    c.chaos_mean = absl::Milliseconds(std::max<int64_t>(10, Env("SOAK_CHAOS_MS", 600)));
    c.rss_slack_mb = static_cast<double>(Env("SOAK_RSS_SLACK_MB", 8));
    c.thread_slack = Env("SOAK_THREAD_SLACK", 0);
    c.max_pending_per_client = std::max<int64_t>(1, Env("SOAK_MAX_PENDING", 64));
    c.inject = Arg(argc, argv, "--inject", "SOAK_INJECT", "");
    return RunServer(c);
  }
  std::fprintf(stderr,
               "usage: sserpc-soak server [--duration S] [--clients N] [--seed X]\n"
               "       sserpc-soak client --id ID --port PORT [--inline]\n"
               "  env: SOAK_DURATION_S SOAK_CLIENTS SOAK_SEED SOAK_WARMUP_S\n"
               "       SOAK_CALLERS SOAK_ASYNC SOAK_RATE SOAK_CALLER_RATE\n"
               "       SOAK_GRACE_MS\n"
               "       SOAK_MAX_TIMEOUT_MS SOAK_CHAOS_MS SOAK_MAX_PENDING\n"
               "       SOAK_RSS_SLACK_MB\n"
               "       SOAK_THREAD_SLACK\n");
  return 2;
}
