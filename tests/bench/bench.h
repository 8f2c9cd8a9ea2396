// Figures measured by `make bench`, one function each; bench_main.cpp prints them.
// A throughput or mean is the median of several timed runs after a warm-up, so one slow run
// (another process on the machine, a page-cache flush) does not move it; a percentile is taken
// over every sample of every run, pooled. A figure that cannot be measured is NaN, and the code
// that gave up says why with unavailable(): `make bench` prints it as `name NA reason`.
#pragma once

#include <memory>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/crypto/signal_engine.h"

namespace sotto::core {
class Node;
}
namespace sotto::test {
class TestNode;
}

namespace sotto::bench {

// Records why the figure being measured cannot be (also on stderr); returns NaN for it.
double unavailable(const std::string& why);
// For figures measured once and asked for again: `value`, and when it is NaN, `why` is recorded
// once more for the figure now asked for.
double or_unavailable(double value, const std::string& why);
// The reason recorded last (empty when none), and forgets it.
std::string take_unavailable_reason();

// Measure() once per process (later calls return the same figure), with its reason when NaN.
template <double (*Measure)()>
double measured_once() {
  struct Measured {
    double value;
    std::string na;
  };
  static const Measured measured = [] {
    const double value = Measure();
    return Measured{value, take_unavailable_reason()};
  }();
  return or_unavailable(measured.value, measured.na);
}

// Measure() once per process for a group of figures measured together (a struct with a
// `std::string na`): later calls return the same group, `na` holding the reason recorded while
// it was measured (empty when none).
template <class Figures, Figures (*Measure)()>
const Figures& figures_once() {
  static const Figures figures = [] {
    Figures measured = Measure();
    measured.na = take_unavailable_reason();
    return measured;
  }();
  return figures;
}

// A Signal engine on in-memory stores, its signed and one-time pre-keys made: libsignal's own
// work and nothing of SQLCipher, for the `_bare` twins. `state` is the engine's store (owned by
// the engine): a twin reads the session record a step wrote from it, to write it durably to bare
// SQLCipher as sotto's Signal store does.
struct MemorySignal {
  std::unique_ptr<crypto::SignalEngine> engine;
  crypto::SignalStateStore* state = nullptr;

  // The session record with `peer` as the engine holds it now.
  Bytes session_with(const std::string& peer) const;
};
MemorySignal memory_signal_engine();

// Microseconds for a request of 100 bytes of payload and its reply: sotto's padded frame.
double transport_roundtrip_us();
double transport_roundtrip_us_bare();  // bare ZeroMQ DEALER/ROUTER with CURVE, same frame size

// Two nodes on loopback, 1:1 text (issue 4).
struct TextFigures {
  double throughput_msgs_per_s = 0;  // delivered and durable, receipts included
  double latency_p50_us = 0;         // send_text() until the receiver has committed it
  double latency_p99_us = 0;
  std::string na;  // why a NaN above is one
};
// Measured once per process; later calls return the same figures.
const TextFigures& text_figures();
// The same flood and the same one-at-a-time path through the bare libraries (text_bench.cpp
// says what they do, and what they leave out).
const TextFigures& text_figures_bare();

// One sender and 8 members, every message archived (durably) by every member (issue 5).
double channel_fanout_msgs_per_s();

// Issue 24: a member back from away gets the channel texts it missed from another member while
// their author is away too (relay_bench.cpp).
double relay_catchup_msgs_per_s();

// " name=value" for each of `node`'s counters that is not zero and starts with `prefix`, for
// reports on stderr and NA reasons.
std::string nonzero_counters(core::Node& node, const std::string& prefix = "");

// `member` joins `channel` the way a person does once the admin's invitation has come: it
// compares the admin's safety number (confirm_contact), then accepts. False, with the reason
// recorded (unavailable), when it cannot.
bool accept_invitation(test::TestNode& member, const std::string& admin_fingerprint,
                       const std::string& channel);

// Push-to-talk voice between real nodes on loopback (issue 6; voice_bench.cpp says how each is
// measured). Figures measured together are measured once per process.
double voice_frame_cpu_us();  // CPU per 20 ms frame, talker + 1 listener, the whole transmission
double voice_frame_cpu_us_steady();  // the same, its first and last 25 frames left out
double voice_idle_cpu_us();          // the same two nodes' CPU per 20 ms when nobody talks
double voice_frame_cpu_us_bare();    // bare Opus encode + decode of the same frames, back to back
double voice_frame_cpu_us_bare_paced();     // the same, one frame per 20 ms as a transmission must
double voice_frame_cpu_us_bare_pipeline();  // the same, two threads and a UDP datagram a frame
double voice_delay_p50_ms();  // last sample captured -> decoded, 8 listeners, 20 ms frames
double voice_delay_p99_ms();
double voice_delay_p99_ms_10ms();     // the same with 10 ms frames
double voice_pipeline_p99_ms();       // encoder input -> decoded PCM, 8 listeners, 20 ms frames
double voice_pipeline_p99_ms_bare();  // the same fan-out, bare Opus and UDP threads
double voice_max_listeners();         // extrapolated from the talker's measured per-listener cost

// What a node pays per beacon it hears (signature checked) and per beacon it sends (issue 23;
// beacon_bench.cpp).
double beacon_check_us();
double beacon_sign_us();

// The archive at a million messages (issue 8; archive_bench.cpp says how each is measured). The
// archive is built once per process, by whichever is asked for first.
double search_1m_ms();  // newest 50 hits of a word ~1 % of messages hold
double search_1m_ms_bare();
double history_page_ms();  // latest 100 messages of a conversation
double history_page_ms_bare();
double open_1m_ms();  // unlock to ready, KDF excluded
double open_1m_ms_bare();
// Disappearing messages in that archive: turning them on for a conversation of 1,000 messages,
// and one expiry sweep that deletes 50 and leaves nothing of them in the file (search index
// merged, WAL checkpointed). Measured once per process.
struct ExpiryFigures {
  double turn_on_ms = 0;
  double sweep_ms = 0;
};
const ExpiryFigures& expiry_figures();

}  // namespace sotto::bench
