// sserpc-bench: the "reverse echo" benchmark, as two processes on 127.0.0.1.
//
//   sserpc-bench server   listens on port 0, prints "LISTENING <port>", waits
//                         for clients c0..c{C-1}, runs BENCH_WARMUP calls,
//                         prints "MEASURE", runs BENCH_N calls with BENCH_K
//                         concurrent callers (call i goes to c(i mod A)),
//                         checks every answer, prints "RESULT {json}".
//   sserpc-bench client   holds BENCH_C clients that answer with the payload
//                         unchanged; exits after BENCH_RUN_TIMEOUT_S or once
//                         the server has gone.
//
// Parameters come from the environment (see Env() calls); diagnostics go to
// stderr. docs/BENCHMARKS.md has the method and the numbers.
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench.sserpc.h"
#include "client/client.h"
#include "client/typed_handler.h"
#include "proto/sync.h"
#include "server/server.h"
#include "server/typed_call.h"

namespace {

int64_t Env(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  int64_t out;
  if (v == nullptr || !absl::SimpleAtoi(v, &out)) return fallback;
  return out;
}

std::string EnvString(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v == nullptr ? fallback : v;
}

// A numeric field of /proc/self/status ("Threads:", "VmRSS:" in kB, ...).
double ProcStatusValue(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) {
      int64_t value = 0;
      std::string digits;
      for (char c : line) {
        if (c >= '0' && c <= '9') digits.push_back(c);
      }
      absl::SimpleAtoi(digits, &value);
      return static_cast<double>(value);
    }
  }
  return 0;
}

// Resident set size fields of /proc/self/status, in MB.
double ProcStatusMb(const char* field) { return ProcStatusValue(field) / 1024; }

// CPU time (user + system) this process has used, in seconds.
double ProcessCpuSeconds() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

constexpr char kPayloadBase[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_#";

// BENCH_PAYLOADS, read by both processes:
//   json            untyped calls, the payload a JSON string (the default);
//   typed-json      generated stubs (bench.proto), proto3 JSON on the wire;
//   typed-protobuf  generated stubs, protobuf payloads negotiated by the
//                   clients (ClientOptions::protobuf_payloads).
enum class Payloads { kJson, kTypedJson, kTypedProtobuf };

Payloads PayloadsFromEnv() {
  const std::string v = EnvString("BENCH_PAYLOADS", "json");
  if (v == "typed-json") return Payloads::kTypedJson;
  if (v == "typed-protobuf") return Payloads::kTypedProtobuf;
  if (v != "json") {
    std::fprintf(stderr, "BENCH_PAYLOADS must be json, typed-json or "
                         "typed-protobuf; using json\n");
  }
  return Payloads::kJson;
}

const char* PayloadsName(Payloads p) {
  switch (p) {
    case Payloads::kJson: return "json";
    case Payloads::kTypedJson: return "typed-json";
    case Payloads::kTypedProtobuf: return "typed-protobuf";
  }
  return "json";
}

// One call's payload: the text, and its JSON form for untyped calls.
std::string PayloadText(int64_t i) { return absl::StrCat(kPayloadBase, i); }
std::string PayloadJson(int64_t i) {
  return absl::StrCat("\"", kPayloadBase, i, "\"");
}

// True if `answer` is PayloadJson(i), compared piece by piece: the callers
// check every answer without building the expected one again (the
// harness's own allocations count in the server's CPU per call).
bool IsPayloadJson(absl::string_view answer, int64_t i) {
  const absl::string_view base(kPayloadBase);
  const absl::AlphaNum number(i);
  return answer.size() == base.size() + number.size() + 2 &&
         answer.front() == '"' && answer.back() == '"' &&
         answer.substr(1, base.size()) == base &&
         answer.substr(1 + base.size(), number.size()) == number.Piece();
}

int RunServer() {
  const int64_t c = Env("BENCH_C", 1);
  const int64_t k = Env("BENCH_K", 1);
  const int64_t n = Env("BENCH_N", 2000);
  const int64_t a = Env("BENCH_ACTIVE", std::min<int64_t>(c, 16));
  const int64_t warmup = Env("BENCH_WARMUP", 200);
  const absl::Duration call_timeout =
      absl::Milliseconds(Env("BENCH_CALL_TIMEOUT_MS", 10000));
  const absl::Duration run_timeout = absl::Seconds(Env("BENCH_RUN_TIMEOUT_S", 300));
  const absl::Time give_up = absl::Now() + run_timeout;

  sserpc::ServerOptions server_options;
  // The benchmark measures capacity: 10,000 clients connect as fast as they
  // can (the default rate limit would spread them over a few seconds).
  server_options.max_connections_per_second = 0;
  sserpc::Server server(server_options);
  absl::StatusOr<int> port = server.Start("127.0.0.1", 0);
  if (!port.ok()) {
    std::fprintf(stderr, "bench server: %s\n", port.status().ToString().c_str());
    return 1;
  }
  std::printf("LISTENING %d\n", *port);
  std::fflush(stdout);

  const absl::Time connect_start = absl::Now();
  while (true) {
    const int64_t connected =
        static_cast<int64_t>(server.Stats().open_streams);
    if (connected >= c) break;
    if (absl::Now() > give_up) {
      std::fprintf(stderr, "bench server: only %lld of %lld clients connected\n",
                   static_cast<long long>(connected), static_cast<long long>(c));
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  const double connect_s = absl::ToDoubleSeconds(absl::Now() - connect_start);
  // BENCH_IDLE_S: with every client connected and no call, how much CPU the
  // server spends (percent of one core) over that many seconds.
  const int64_t idle_s = Env("BENCH_IDLE_S", 0);
  double idle_cpu_pct = -1;
  if (idle_s > 0) {
    absl::SleepFor(absl::Seconds(1));  // let the last connections settle
    const double cpu0 = ProcessCpuSeconds();
    const absl::Time t0 = absl::Now();
    absl::SleepFor(absl::Seconds(idle_s));
    idle_cpu_pct = 100 * (ProcessCpuSeconds() - cpu0) /
                   absl::ToDoubleSeconds(absl::Now() - t0);
  }
  const double rss_connected = ProcStatusMb("VmRSS:");
  const double threads_connected = ProcStatusValue("Threads:");

  std::atomic<int64_t> errors{0};
  std::vector<double> latencies_ms(n);
  // BENCH_CALLERS=async: the K callers are K chains of CallAsync (each
  // answer's callback starts the chain's next call) instead of K blocking
  // threads: the same K calls in flight, without a caller thread to wake.
  const bool async_callers = EnvString("BENCH_CALLERS", "threads") == "async";
  const Payloads payloads = PayloadsFromEnv();
  const bench::Echo::Caller typed(server);
  // The answer as the untyped API gives it (typed calls are mapped onto it:
  // their text, quoted).
  auto check = [&](int64_t i, const sserpc::CallResult& r) {
    if (!r.ok() || !IsPayloadJson(*r, i)) {
      if (errors.fetch_add(1) < 5) {
        std::fprintf(stderr, "bench server: call %lld: %s\n",
                     static_cast<long long>(i),
                     r.ok() ? "wrong answer" : r.status().ToString().c_str());
      }
    }
  };
  auto run_async = [&](int64_t count, bool record) {
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> finished{0};
    std::vector<absl::Time> starts(count);  // by call number
    sserpc::Notification all_done;
    sserpc::CallOptions options;
    options.timeout = call_timeout;
    std::function<void()> issue;
    auto finish = [&](int64_t i, const sserpc::CallResult& r) {
      if (record) {
        latencies_ms[i] = absl::ToDoubleMilliseconds(absl::Now() - starts[i]);
      }
      check(i, r);
      issue();
      if (finished.fetch_add(1) + 1 == count) all_done.Notify();
    };
    // Each call's callback holds a reference to `finish` and the call's
    // number: small enough for the callback's inline storage (no
    // allocation per call for the callback itself).
    issue = [&] {
      const int64_t i = next.fetch_add(1);
      if (i >= count) return;
      starts[i] = absl::Now();
      const std::string client = absl::StrCat("c", i % a);
      if (payloads == Payloads::kJson) {
        server.CallAsync(client, "bench.Echo/Echo", PayloadJson(i), options,
                         [&finish, i](sserpc::CallResult r) { finish(i, r); });
        return;
      }
      bench::EchoMessage request;
      request.set_text(PayloadText(i));
      typed.EchoAsync(client, request, options,
                      [&finish, i](absl::StatusOr<bench::EchoMessage> r) {
                        finish(i, r.ok() ? sserpc::CallResult(absl::StrCat(
                                               "\"", r->text(), "\""))
                                         : sserpc::CallResult(r.status()));
                      });
    };
    for (int64_t t = 0; t < k; ++t) issue();
    all_done.WaitForNotification();
  };
  auto run = [&](int64_t count, bool record) {
    if (async_callers) return run_async(count, record);
    std::atomic<int64_t> next{0};
    std::vector<std::thread> callers;
    for (int64_t t = 0; t < k; ++t) {
      callers.emplace_back([&] {
        sserpc::CallOptions options;
        options.timeout = call_timeout;
        while (true) {
          const int64_t i = next.fetch_add(1);
          if (i >= count) return;
          const std::string client = absl::StrCat("c", i % a);
          const absl::Time start = absl::Now();
          sserpc::CallResult r;
          if (payloads == Payloads::kJson) {
            r = server.Call(client, "bench.Echo/Echo", PayloadJson(i), options);
          } else {
            bench::EchoMessage request;
            request.set_text(PayloadText(i));
            absl::StatusOr<bench::EchoMessage> answer =
                typed.Echo(client, request, options);
            r = answer.ok() ? sserpc::CallResult(
                                  absl::StrCat("\"", answer->text(), "\""))
                            : sserpc::CallResult(answer.status());
          }
          const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
          check(i, r);
          if (record) latencies_ms[i] = ms;
        }
      });
    }
    for (std::thread& t : callers) t.join();
  };
  run(warmup, false);
  errors = 0;
  std::printf("MEASURE\n");
  std::fflush(stdout);
  const absl::Time start = absl::Now();
  const double cpu_start = ProcessCpuSeconds();
  run(n, true);
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  // CPU per call is steadier than calls/s on a shared machine: it does not
  // count the time this process waited for a core.
  const double cpu_us_per_call = 1e6 * (ProcessCpuSeconds() - cpu_start) / n;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    size_t idx = std::min(latencies_ms.size() - 1,
                          static_cast<size_t>(p * latencies_ms.size()));
    return latencies_ms[idx];
  };
  std::printf(
      "RESULT {\"clients\":%lld,\"k\":%lld,\"n\":%lld,\"active\":%lld,"
      "\"warmup\":%lld,\"calls_per_s\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,"
      "\"p90_ms\":%.4f,\"p999_ms\":%.4f,\"max_ms\":%.4f,"
      "\"errors\":%lld,\"server_peak_rss_mb\":%.1f,"
      "\"server_rss_connected_mb\":%.1f,\"elapsed_s\":%.3f,\"connect_s\":%.3f,"
      "\"server_idle_cpu_pct\":%.2f,\"server_threads\":%.0f,"
      "\"callers\":\"%s\",\"payloads\":\"%s\","
      "\"server_cpu_us_per_call\":%.1f}\n",
      static_cast<long long>(c), static_cast<long long>(k),
      static_cast<long long>(n), static_cast<long long>(a),
      static_cast<long long>(warmup), n / elapsed, pct(0.50), pct(0.99),
      pct(0.90), pct(0.999), latencies_ms.empty() ? 0.0 : latencies_ms.back(),
      static_cast<long long>(errors.load()), ProcStatusMb("VmHWM:"),
      rss_connected, elapsed, connect_s, idle_cpu_pct, threads_connected,
      async_callers ? "async" : "threads", PayloadsName(payloads),
      cpu_us_per_call);
  std::fflush(stdout);
  server.Stop();
  return errors.load() == 0 ? 0 : 3;
}

int RunClients() {
  signal(SIGPIPE, SIG_IGN);
  const int64_t c = Env("BENCH_C", 1);
  const int64_t batch = std::max<int64_t>(1, Env("BENCH_CONNECT_CONCURRENCY", 50));
  const absl::Time give_up =
      absl::Now() + absl::Seconds(Env("BENCH_RUN_TIMEOUT_S", 300));
  const std::string url = absl::StrCat("http://", EnvString("BENCH_HOST", "127.0.0.1"),
                                       ":", Env("BENCH_PORT", 0));
  const Payloads payloads = PayloadsFromEnv();
  // BENCH_TAMPER=1 (JSON payloads): calls whose number ends in 0 are answered
  // wrongly, for the test that the server's callers check every answer.
  const bool tamper = Env("BENCH_TAMPER", 0) != 0;
  std::vector<std::unique_ptr<sserpc::Client>> clients;
  for (int64_t i = 0; i < c; i += batch) {
    const int64_t end = std::min(c, i + batch);
    for (int64_t j = i; j < end; ++j) {
      sserpc::ClientOptions options;
      options.server_url = url;
      options.client_id = absl::StrCat("c", j);
      options.max_concurrent_calls = 16;
      options.reconnect_max = absl::Seconds(2);
      options.protobuf_payloads = payloads == Payloads::kTypedProtobuf;
      auto client = std::make_unique<sserpc::Client>(options);
      // BENCH_INLINE=1: the echo handler runs on the stream thread
      // (HandlerOptions::run_on_stream_thread), as a quick handler may.
      sserpc::HandlerOptions handler_options;
      handler_options.run_on_stream_thread = Env("BENCH_INLINE", 0) != 0;
      absl::Status registered;
      if (payloads == Payloads::kJson) {
        registered = client->Register(
            "bench.Echo/Echo",
            [tamper](sserpc::CallContext&, absl::string_view payload) {
              std::string answer(payload);
              if (tamper && answer.size() >= 2 && answer[answer.size() - 2] == '0') {
                answer[answer.size() - 2] = 'x';
              }
              return absl::StatusOr<std::string>(std::move(answer));
            },
            handler_options);
      } else {
        // What bench::Echo::Register() does, plus the inline option.
        handler_options.accepts_protobuf = true;
        registered = client->Register(
            bench::Echo::kEchoMethod,
            sserpc::TypedHandler<bench::EchoMessage, bench::EchoMessage>(
                [](sserpc::CallContext&, const bench::EchoMessage& request) {
                  return absl::StatusOr<bench::EchoMessage>(request);
                }),
            handler_options);
      }
      if (registered.ok()) registered = client->Start();
      if (!registered.ok()) {
        std::fprintf(stderr, "bench client: %s\n", registered.ToString().c_str());
        return 1;
      }
      clients.push_back(std::move(client));
    }
    for (int64_t j = i; j < end; ++j) {
      if (!clients[j]->WaitUntilConnected(give_up - absl::Now())) {
        std::fprintf(stderr, "bench client: c%lld did not connect\n",
                     static_cast<long long>(j));
        return 1;
      }
    }
  }
  std::fprintf(stderr, "bench client: %lld clients connected\n",
               static_cast<long long>(c));
  // Run until the run timeout, or until the server has been gone a while.
  absl::Time all_down_since = absl::InfiniteFuture();
  while (absl::Now() < give_up) {
    bool any = false;
    for (auto& client : clients) any = any || client->connected();
    if (any) {
      all_down_since = absl::InfiniteFuture();
    } else if (all_down_since == absl::InfiniteFuture()) {
      all_down_since = absl::Now();
    } else if (absl::Now() - all_down_since > absl::Seconds(1)) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  sserpc::Client::Stats total;
  for (auto& client : clients) {
    client->Stop(absl::ZeroDuration());
    sserpc::Client::Stats s = client->stats();
    total.requests += s.requests;
    total.answers_sent += s.answers_sent;
    total.answer_posts += s.answer_posts;
  }
  // Warm-up and connecting included: compare it between runs of the same
  // scenario only.
  std::fprintf(stderr,
               "bench client: %llu requests, %llu answers in %llu POSTs, "
               "%.1f us of CPU per request\n",
               static_cast<unsigned long long>(total.requests),
               static_cast<unsigned long long>(total.answers_sent),
               static_cast<unsigned long long>(total.answer_posts),
               total.requests == 0
                   ? 0.0
                   : 1e6 * ProcessCpuSeconds() /
                         static_cast<double>(total.requests));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "server") return RunServer();
  if (mode == "client") return RunClients();
  std::fprintf(stderr,
               "usage: sserpc-bench server|client\n"
               "  env: BENCH_C BENCH_K BENCH_N BENCH_ACTIVE BENCH_WARMUP\n"
               "       BENCH_CALL_TIMEOUT_MS BENCH_RUN_TIMEOUT_S\n"
               "       BENCH_CONNECT_CONCURRENCY BENCH_HOST BENCH_PORT\n"
               "       BENCH_CALLERS=threads|async BENCH_INLINE=0|1\n"
               "       BENCH_PAYLOADS=json|typed-json|typed-protobuf\n"
               "       BENCH_IDLE_S\n");
  return 2;
}
