// 1:1 text between two real nodes on loopback (each its own thread, profile and sockets):
//   text_throughput_msgs_per_s  messages sent until all are delivered (receipts in, both sides
//                               committed with synchronous=FULL); median of kThroughputRuns runs
//   text_latency_p50_us / p99   send_text() until the receiver has committed the message (its
//                               MessageEvent is published only after the commit); one message in
//                               flight at a time (the next is sent once this one's receipt is in);
//                               medians over kLatencyRuns runs of the per-run percentiles
// Each pair is warmed up first: the first message carries the X3DH pre-key message, and the first
// few hundred fill the statement caches and the page caches.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "sotto/core/node.h"
#include "tests/bench/bench.h"
#include "tests/support/test_node.h"
#include "tests/support/wait.h"

namespace sotto::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kThroughputRuns = 3;
constexpr int kThroughputMessages = 10000;  // per run
constexpr int kWarmupMessages = 100;
constexpr int kLatencyRuns = 5;
constexpr int kLatencyMessages = 500;  // per run: its p99 rests on its 5 slowest

struct Pair {
  test::TestNode alice{"alice"};
  test::TestNode bob{"bob", peers_of(alice)};

  static core::NodeOptions peers_of(test::TestNode& other) {
    core::NodeOptions options = test::loopback_options();
    options.peers.push_back(core::PeerSpec::parse(other.endpoint()).value());
    return options;
  }

  bool connect() {
    if (!test::wait_until([&] { return alice.sees_online(bob) && bob.sees_online(alice); },
                          std::chrono::seconds(5))) {
      std::fprintf(stderr, "bench: text: nodes did not connect\n");
      return false;
    }
    auto added = alice.node().add_contact(bob.fingerprint(), "bob");
    if (!added.is_ok()) {
      std::fprintf(stderr, "bench: text: add_contact: %s\n", added.status().message().c_str());
      return false;
    }
    return true;
  }

  // Sends `count` messages pipelined (sends queued together share one commit) and waits for
  // their receipts. Returns the seconds from the first send to the last receipt.
  std::optional<double> flood(int count, const std::string& tag) {
    const uint64_t before = alice.counter("receipts_received");
    const auto start = Clock::now();
    std::vector<std::future<Result<core::MessageInfo>>> sends;
    sends.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      sends.push_back(alice.node().send_text_async("bob", tag + " message " + std::to_string(i)));
    }
    for (auto& sent : sends) {
      auto result = sent.get();
      if (!result.is_ok()) {
        std::fprintf(stderr, "bench: text: send failed: %s\n", result.status().message().c_str());
        return std::nullopt;
      }
    }
    if (!test::wait_until(
            [&] {
              return alice.counter("receipts_received") >= before + static_cast<uint64_t>(count);
            },
            std::chrono::seconds(120))) {
      std::fprintf(stderr, "bench: text: receipts missing after 120 s\n");
      return std::nullopt;
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  }
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double percentile(std::vector<double> values, int pct) {
  std::sort(values.begin(), values.end());
  return values[values.size() * static_cast<size_t>(pct) / 100];
}

std::optional<double> measure_throughput() {
  Pair pair;
  if (!pair.connect()) return std::nullopt;
  if (!pair.flood(kWarmupMessages, "warm-up")) return std::nullopt;
  std::vector<double> rates;
  for (int run = 0; run < kThroughputRuns; ++run) {
    auto seconds = pair.flood(kThroughputMessages, "run " + std::to_string(run));
    if (!seconds) return std::nullopt;
    rates.push_back(kThroughputMessages / *seconds);
  }
  return median(rates);
}

struct Latencies {
  double p50_us = 0;
  double p99_us = 0;
};

std::optional<Latencies> measure_latency() {
  Pair pair;
  if (!pair.connect()) return std::nullopt;
  auto events = pair.bob.node().subscribe();
  // Waits for bob's next MessageEvent; receipts and peer events in between are skipped.
  auto committed_at_bob = [&]() -> bool {
    for (;;) {
      auto event = events->wait_pop(5000);
      if (!event) {
        std::fprintf(stderr, "bench: text: a message did not arrive within 5 s\n");
        return false;
      }
      if (std::holds_alternative<core::MessageEvent>(event->body)) return true;
    }
  };
  auto one = [&](const std::string& text) -> std::optional<double> {
    const uint64_t receipts_before = pair.alice.counter("receipts_received");
    const auto start = Clock::now();
    auto sent = pair.alice.node().send_text("bob", text);
    if (!sent.is_ok()) {
      std::fprintf(stderr, "bench: text: send failed: %s\n", sent.status().message().c_str());
      return std::nullopt;
    }
    if (!committed_at_bob()) return std::nullopt;
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    // In flight until its receipt is in: the next message does not queue behind the
    // processing of this one's receipt.
    if (!test::wait_until([&] { return pair.alice.counter("receipts_received") > receipts_before; },
                          std::chrono::seconds(5))) {
      std::fprintf(stderr, "bench: text: no receipt within 5 s\n");
      return std::nullopt;
    }
    return us;
  };
  for (int i = 0; i < kWarmupMessages; ++i) {
    if (!one("warm-up " + std::to_string(i))) return std::nullopt;
  }
  std::vector<double> p50s, p99s;
  for (int run = 0; run < kLatencyRuns; ++run) {
    std::vector<double> samples;
    samples.reserve(kLatencyMessages);
    for (int i = 0; i < kLatencyMessages; ++i) {
      auto us = one("ping " + std::to_string(i));
      if (!us) return std::nullopt;
      samples.push_back(*us);
    }
    p50s.push_back(percentile(samples, 50));
    p99s.push_back(percentile(samples, 99));
  }
  return Latencies{median(p50s), median(p99s)};
}

TextFigures measure_text() {
  TextFigures out;
  out.throughput_msgs_per_s = measure_throughput().value_or(NAN);
  const auto latencies = measure_latency();
  out.latency_p50_us = latencies ? latencies->p50_us : NAN;
  out.latency_p99_us = latencies ? latencies->p99_us : NAN;
  return out;
}

}  // namespace

const TextFigures& text_figures() {
  static const TextFigures figures = measure_text();
  return figures;
}

}  // namespace sotto::bench
