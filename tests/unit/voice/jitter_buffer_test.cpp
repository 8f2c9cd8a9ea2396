#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "sotto/voice/jitter_buffer.h"

using namespace sotto;
using namespace sotto::voice;
using Kind = JitterFrame::Kind;

namespace {

Bytes payload_of(uint32_t seq) {
  return Bytes{static_cast<uint8_t>(seq), 0xAB};
}

// What a pop() gave, in a form that prints well in a failed CHECK: "frame 3", "lost 4", "none".
std::string describe(const std::optional<JitterFrame>& f) {
  if (!f) return "none";
  if (f->kind == Kind::kLost) return "lost " + std::to_string(f->seq);
  if (f->payload != payload_of(f->seq)) return "wrong payload " + std::to_string(f->seq);
  return "frame " + std::to_string(f->seq);
}

std::vector<std::string> pop_n(JitterBuffer& jb, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(describe(jb.pop()));
  return out;
}

using Seq = std::vector<std::string>;

// Frames one per 20 ms, each late by the next of `delays` in turn, each popped as it arrives (a
// playout that keeps up).
struct SteadyFeed {
  JitterBuffer& jb;
  uint32_t seq = 0;
  void operator()(int count, std::initializer_list<int> delays) {
    for (int i = 0; i < count; ++i) {
      const int delay = *(delays.begin() + i % delays.size());
      (void)jb.push(seq, payload_of(seq), 1000 + 20 * int64_t{seq} + delay);
      (void)jb.pop();
      ++seq;
    }
  }
};

}  // namespace

TEST_CASE("a steady stream plays in order with one frame of delay", "[voice][jitter]") {
  JitterBuffer jb;
  for (uint32_t seq = 0; seq < 50; ++seq) {
    REQUIRE(jb.push(seq, payload_of(seq), 1000 + 20 * seq) == PushResult::kAccepted);
    CHECK(describe(jb.pop()) == "frame " + std::to_string(seq));
  }
  CHECK(jb.target_depth() == 1);
  CHECK(jb.jitter_ms() == 0);
  CHECK(jb.stats().played == 50);
  CHECK(jb.stats().lost == 0);
}

TEST_CASE("reordered frames come out in sequence order", "[voice][jitter]") {
  JitterBuffer jb;
  // 1 overtakes 0 and 3 overtakes 2, each by one millisecond.
  CHECK(jb.push(1, payload_of(1), 1020) == PushResult::kAccepted);
  CHECK(jb.push(0, payload_of(0), 1021) == PushResult::kAccepted);
  CHECK(jb.push(3, payload_of(3), 1060) == PushResult::kAccepted);
  CHECK(jb.push(2, payload_of(2), 1061) == PushResult::kAccepted);
  jb.finish();
  CHECK(pop_n(jb, 5) == Seq{"frame 0", "frame 1", "frame 2", "frame 3", "none"});
  CHECK(jb.done());
  CHECK(jb.stats().lost == 0);
}

TEST_CASE("a duplicate is dropped and counted, and played once", "[voice][jitter]") {
  JitterBuffer jb;
  CHECK(jb.push(0, payload_of(0), 1000) == PushResult::kAccepted);
  CHECK(jb.push(0, Bytes{9, 9}, 1001) == PushResult::kDuplicate);
  CHECK(jb.push(1, payload_of(1), 1020) == PushResult::kAccepted);
  CHECK(jb.push(1, payload_of(1), 1020) == PushResult::kDuplicate);
  jb.finish();
  CHECK(pop_n(jb, 3) == Seq{"frame 0", "frame 1", "none"});
  CHECK(jb.stats().duplicate == 2);
  CHECK(jb.stats().played == 2);
}

TEST_CASE("a frame missing when a later one is due is lost, and dropped as late if it comes",
          "[voice][jitter]") {
  JitterBuffer jb;
  REQUIRE(jb.push(0, payload_of(0), 1000) == PushResult::kAccepted);
  CHECK(describe(jb.pop()) == "frame 0");
  REQUIRE(jb.push(2, payload_of(2), 1040) == PushResult::kAccepted);
  CHECK(describe(jb.pop()) == "lost 1");
  CHECK(describe(jb.pop()) == "frame 2");
  // Frame 1 turns up after its slot was concealed, and frame 0 again after it was played.
  CHECK(jb.push(1, payload_of(1), 1061) == PushResult::kLate);
  CHECK(jb.push(0, payload_of(0), 1062) == PushResult::kLate);
  CHECK(jb.stats().late == 2);
  CHECK(jb.stats().lost == 1);
  CHECK(jb.buffered() == 0);
}

TEST_CASE("a burst of losses is concealed frame by frame", "[voice][jitter]") {
  JitterBuffer jb;
  for (uint32_t seq : {0u, 1u, 5u, 6u}) {
    REQUIRE(jb.push(seq, payload_of(seq), 1000 + 20 * seq) == PushResult::kAccepted);
  }
  jb.finish();
  CHECK(pop_n(jb, 8) ==
        Seq{"frame 0", "frame 1", "lost 2", "lost 3", "lost 4", "frame 5", "frame 6", "none"});
  CHECK(jb.stats().lost == 3);
}

TEST_CASE("when the stream stalls, a few frames are concealed, then playout waits and resumes",
          "[voice][jitter]") {
  JitterOptions options;
  options.max_concealed = 3;
  JitterBuffer jb(options);
  for (uint32_t seq = 0; seq < 3; ++seq) {
    REQUIRE(jb.push(seq, payload_of(seq), 1000 + 20 * seq) == PushResult::kAccepted);
    CHECK(describe(jb.pop()) == "frame " + std::to_string(seq));
  }
  // Nothing arrives for a while: three slots concealed, then silence, not endless concealment.
  CHECK(pop_n(jb, 6) == Seq{"lost 3", "lost 4", "lost 5", "none", "none", "none"});
  CHECK(jb.stats().underruns == 1);
  CHECK_FALSE(jb.playing());
  // Frames 3..5 were given up on; one of them arriving now is late.
  CHECK(jb.push(4, payload_of(4), 1200) == PushResult::kLate);
  // The stream resumes at frame 9 (6..8 lost in the network) after a 100 ms stall.
  REQUIRE(jb.push(9, payload_of(9), 1280) == PushResult::kAccepted);
  // The stall raised the target depth: playout waits until that many frames are buffered.
  REQUIRE(jb.target_depth() == 4);
  CHECK(describe(jb.pop()) == "none");
  REQUIRE(jb.push(10, payload_of(10), 1300) == PushResult::kAccepted);
  REQUIRE(jb.push(11, payload_of(11), 1320) == PushResult::kAccepted);
  CHECK(describe(jb.pop()) == "none");
  REQUIRE(jb.push(12, payload_of(12), 1340) == PushResult::kAccepted);
  CHECK(pop_n(jb, 4) == Seq{"frame 9", "frame 10", "frame 11", "frame 12"});
  CHECK(jb.stats().skipped == 3);  // 6, 7, 8: never arrived, never concealed
}

TEST_CASE("the target depth follows the observed jitter between 1 and 4 frames",
          "[voice][jitter]") {
  JitterOptions options;
  options.jitter_window = 10;
  JitterBuffer jb(options);
  SteadyFeed feed{jb};
  feed(10, {5});
  CHECK(jb.jitter_ms() == 0);
  CHECK(jb.target_depth() == 1);
  feed(10, {0, 15});  // up to 20 ms of jitter: one frame of slack
  CHECK(jb.jitter_ms() == 15);
  CHECK(jb.target_depth() == 2);
  feed(10, {0, 50});  // 41 to 60 ms: three frames of slack
  CHECK(jb.jitter_ms() == 50);
  CHECK(jb.target_depth() == 4);
  feed(10, {0, 300});  // far more than 4 frames can absorb: stays at the maximum
  CHECK(jb.target_depth() == 4);
  feed(10, {7});  // calm again once the window has forgotten the spikes
  CHECK(jb.jitter_ms() == 0);
  CHECK(jb.target_depth() == 1);
}

TEST_CASE("playout starts only once the target depth is buffered, unless the talker finished",
          "[voice][jitter]") {
  JitterOptions options;
  options.min_depth = 3;
  JitterBuffer jb(options);
  REQUIRE(jb.push(0, payload_of(0), 1000) == PushResult::kAccepted);
  CHECK(describe(jb.pop()) == "none");
  REQUIRE(jb.push(1, payload_of(1), 1020) == PushResult::kAccepted);
  CHECK(describe(jb.pop()) == "none");
  REQUIRE(jb.push(2, payload_of(2), 1040) == PushResult::kAccepted);
  CHECK(describe(jb.pop()) == "frame 0");

  JitterBuffer short_spurt(options);
  REQUIRE(short_spurt.push(0, payload_of(0), 1000) == PushResult::kAccepted);
  CHECK(describe(short_spurt.pop()) == "none");
  short_spurt.finish();
  CHECK(pop_n(short_spurt, 2) == Seq{"frame 0", "none"});
  CHECK(short_spurt.done());
}

TEST_CASE("a burst beyond capacity moves playout forward so latency stays bounded",
          "[voice][jitter]") {
  JitterBuffer jb;  // capacity 8
  for (uint32_t seq = 0; seq < 20; ++seq) {
    REQUIRE(jb.push(seq, payload_of(seq), 1000) == PushResult::kAccepted);
  }
  CHECK(jb.buffered() == 8);
  CHECK(jb.stats().overflow == 12);
  CHECK(describe(jb.pop()) == "frame 12");
  // While playing, the same bound holds relative to the playout point.
  for (uint32_t seq = 20; seq < 30; ++seq) {
    REQUIRE(jb.push(seq, payload_of(seq), 1000) == PushResult::kAccepted);
  }
  CHECK(describe(jb.pop()) == "frame 22");
  CHECK(jb.push(21, payload_of(21), 1000) == PushResult::kLate);
}

TEST_CASE("under random network jitter and loss every frame is accounted for exactly once",
          "[voice][jitter]") {
  std::mt19937 rng(20261129);
  std::uniform_int_distribution<int> delay_ms(0, 45);
  std::bernoulli_distribution dropped(0.05), duplicated(0.03);
  struct Arrival {
    int64_t at_ms;
    uint32_t seq;
  };
  std::vector<Arrival> arrivals;
  constexpr uint32_t kFrames = 1500;  // 30 s
  for (uint32_t seq = 0; seq < kFrames; ++seq) {
    if (dropped(rng)) continue;
    arrivals.push_back({20 * int64_t{seq} + delay_ms(rng), seq});
    if (duplicated(rng)) arrivals.push_back({20 * int64_t{seq} + delay_ms(rng), seq});
  }
  std::stable_sort(arrivals.begin(), arrivals.end(),
                   [](const Arrival& a, const Arrival& b) { return a.at_ms < b.at_ms; });

  JitterBuffer jb;
  size_t next_arrival = 0;
  std::optional<uint32_t> last_seq;
  uint64_t frames = 0, lost = 0;
  // Playout ticks every 20 ms, offset by 10 ms from the send clock.
  for (int64_t now = 10; now < 20 * int64_t{kFrames} + 200; now += 20) {
    for (; next_arrival < arrivals.size() && arrivals[next_arrival].at_ms <= now; ++next_arrival) {
      const Arrival& a = arrivals[next_arrival];
      (void)jb.push(a.seq, payload_of(a.seq), a.at_ms);
    }
    if (now > 20 * int64_t{kFrames}) jb.finish();
    auto out = jb.pop();
    if (!out) continue;
    if (last_seq) CHECK(out->seq > *last_seq);  // strictly in order, never twice
    last_seq = out->seq;
    if (out->kind == Kind::kFrame) {
      ++frames;
      CHECK(out->payload == payload_of(out->seq));
    } else {
      ++lost;
    }
  }
  const JitterStats& s = jb.stats();
  CHECK(jb.done());
  CHECK(s.accepted + s.late + s.duplicate == arrivals.size());
  CHECK(s.accepted == s.played + s.overflow);
  CHECK(frames == s.played);
  CHECK(lost == s.lost);
  // 45 ms of jitter needs 4 frames; after adapting, almost nothing arrives too late.
  CHECK(jb.target_depth() == 4);
  CHECK(s.late < kFrames / 50);
  CHECK(s.played > kFrames * 9 / 10);
}

TEST_CASE("the jitter after every arrival is the window's spread, its slowest 1 in 16 left out",
          "[voice][jitter]") {
  // The definition, worked out afresh from every arrival the buffer has seen (late ones count
  // too; a second copy of a buffered frame does not): over the last 50 transit times (arrival -
  // seq * 20 ms), the slowest kept minus the fastest, the slowest size / 16 (at most 3) left out.
  std::mt19937 rng(20261207);
  std::uniform_int_distribution<int> delay_ms(0, 70), skipped(0, 2);
  std::bernoulli_distribution spike(0.04), repeat(0.05);
  JitterBuffer jb;
  std::vector<int64_t> seen;
  int64_t now = 0;
  uint32_t seq = 0;
  for (int i = 0; i < 3000; ++i) {
    const bool again = i > 0 && repeat(rng);
    if (!again) seq += static_cast<uint32_t>(skipped(rng));
    now = std::max(now, 20 * int64_t{seq} + delay_ms(rng) + (spike(rng) ? 300 : 0));
    const PushResult result = jb.push(seq, payload_of(seq), now);
    if (result != PushResult::kDuplicate) seen.push_back(now - 20 * int64_t{seq});
    if (i % 3 == 0) (void)jb.pop();
    if (!again) ++seq;
    const size_t n = std::min<size_t>(seen.size(), 50);
    std::vector<int64_t> window(seen.end() - static_cast<ptrdiff_t>(n), seen.end());
    std::sort(window.begin(), window.end());
    const size_t ignored = std::min<size_t>(n / 16, 3);
    INFO("arrival " << i << " seq " << seq);
    REQUIRE(jb.jitter_ms() == window[n - 1 - ignored] - window.front());
  }
}

TEST_CASE("a first frame held back does not keep the target depth up for a whole window",
          "[voice][jitter]") {
  // Frame 0 waited 60 ms for its VoiceStart; every frame after it came on time. The estimate
  // ignores one arrival in 16, so the 16th arrival forgets the hiccup, not the window's 50th.
  JitterBuffer jb;
  REQUIRE(jb.push(0, payload_of(0), 1060) == PushResult::kAccepted);
  for (uint32_t seq = 1; seq < 15; ++seq) (void)jb.push(seq, payload_of(seq), 1000 + 20 * seq);
  CHECK(jb.target_depth() == 4);
  (void)jb.push(15, payload_of(15), 1000 + 20 * 15);
  CHECK(jb.jitter_ms() == 0);
  CHECK(jb.target_depth() == 1);
}

TEST_CASE("after a burst of late frames at the start the depth returns to the minimum",
          "[voice][jitter]") {
  // Frames 0..2 came 70, 50 and 30 ms late (a start-up stall), then steady arrivals: within 48
  // of them (3 x 16) the target is back at 1, and a refill after an underrun uses it.
  JitterBuffer jb;
  for (uint32_t seq = 0; seq < 3; ++seq) {
    (void)jb.push(seq, payload_of(seq), 1070);
    (void)jb.pop();
  }
  CHECK(jb.target_depth() == 3);
  for (uint32_t seq = 3; seq < 48; ++seq) {
    (void)jb.push(seq, payload_of(seq), 1000 + 20 * int64_t{seq});
    CHECK(describe(jb.pop()) == "frame " + std::to_string(seq));
  }
  CHECK(jb.target_depth() == 1);
  // Dry for a while: concealment, then refilling at the minimum depth: the first frame plays.
  CHECK(pop_n(jb, 4) == Seq{"lost 48", "lost 49", "lost 50", "none"});
  REQUIRE(jb.push(60, payload_of(60), 1000 + 20 * 60) == PushResult::kAccepted);
  CHECK(describe(jb.pop()) == "frame 60");
}

TEST_CASE("the target depth falls only with a quarter frame to spare, so it does not flap",
          "[voice][jitter]") {
  JitterOptions options;
  options.jitter_window = 10;
  JitterBuffer jb(options);
  SteadyFeed feed{jb};
  feed(10, {0, 22});  // 22 ms: 3 frames
  CHECK(jb.target_depth() == 3);
  feed(10, {0, 18});  // 2 frames would do, but only just: stays
  CHECK(jb.target_depth() == 3);
  feed(10, {0, 14});  // a quarter frame inside: down
  CHECK(jb.target_depth() == 2);
  feed(10, {0, 22});  // up again at once
  CHECK(jb.target_depth() == 3);
}
