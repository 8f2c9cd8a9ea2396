// 1:1 text between two real nodes on loopback (each its own thread, profile and sockets):
//   text_throughput_msgs_per_s  messages sent until all are delivered (receipts in, both sides
//                               committed with synchronous=FULL)
//   text_latency_p50_us / p99   send_text() until the receiver has committed the message
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "sotto/core/node.h"
#include "tests/bench/bench.h"
#include "tests/support/test_node.h"
#include "tests/support/wait.h"

namespace sotto::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kThroughputMessages = 20000;
constexpr int kLatencyMessages = 2000;

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
      return false;
    }
    return alice.node().add_contact(bob.fingerprint(), "bob").is_ok();
  }
};

}  // namespace

TextFigures text_figures() {
  TextFigures out;
  {
    Pair pair;
    if (!pair.connect()) {
      std::fprintf(stderr, "bench: text: nodes did not connect\n");
      return out;
    }
    // Warm up the session (the first message carries the X3DH pre-key message).
    (void)pair.alice.node().send_text("bob", "warm up");
    test::wait_until([&] { return pair.alice.counter("receipts_received") >= 1; },
                     std::chrono::seconds(5));
    const uint64_t before = pair.alice.counter("receipts_received");
    const auto start = Clock::now();
    // Pipelined: sends queued together are committed together (one fsync for many).
    std::vector<std::future<Result<core::MessageInfo>>> sends;
    sends.reserve(kThroughputMessages);
    for (int i = 0; i < kThroughputMessages; ++i) {
      sends.push_back(
          pair.alice.node().send_text_async("bob", "message number " + std::to_string(i)));
    }
    for (auto& sent : sends) {
      auto result = sent.get();
      if (!result.is_ok()) {
        std::fprintf(stderr, "bench: send failed: %s\n", result.status().message().c_str());
        return out;
      }
    }
    test::wait_until(
        [&] { return pair.alice.counter("receipts_received") >= before + kThroughputMessages; },
        std::chrono::seconds(120));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    out.throughput_msgs_per_s = kThroughputMessages / seconds;
  }
  {
    Pair pair;
    if (!pair.connect()) return out;
    auto events = pair.bob.node().subscribe();
    (void)pair.alice.node().send_text("bob", "warm up");
    std::vector<double> latencies;
    auto wait_message = [&] {
      for (;;) {
        auto event = events->wait_pop(5000);
        if (!event) return false;
        if (std::holds_alternative<core::MessageEvent>(event->body)) return true;
      }
    };
    if (!wait_message()) return out;
    for (int i = 0; i < kLatencyMessages; ++i) {
      const auto start = Clock::now();
      if (!pair.alice.node().send_text("bob", "ping " + std::to_string(i)).is_ok()) return out;
      if (!wait_message()) return out;
      latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    std::sort(latencies.begin(), latencies.end());
    out.latency_p50_us = latencies[latencies.size() / 2];
    out.latency_p99_us = latencies[latencies.size() * 99 / 100];
  }
  return out;
}

}  // namespace sotto::bench
