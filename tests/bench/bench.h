// Figures measured by `make bench`, one function each; bench_main.cpp prints them.
// Every figure is the median of several timed runs after a warm-up, so one slow run (another
// process on the machine, a page-cache flush) does not move it. A NaN means "skipped"; the reason
// went to stderr.
#pragma once

#include <memory>

namespace sotto::crypto {
class SignalEngine;
}

namespace sotto::bench {

// A Signal engine on in-memory stores, its signed and one-time pre-keys made: libsignal's own
// work and nothing of SQLCipher, for the `_bare` twins.
std::unique_ptr<crypto::SignalEngine> memory_signal_engine();

// Microseconds for a 100-byte request and its reply.
double transport_roundtrip_us();
double transport_roundtrip_us_bare();  // bare ZeroMQ DEALER/ROUTER with CURVE

// Two nodes on loopback, 1:1 text (issue 4).
struct TextFigures {
  double throughput_msgs_per_s = 0;  // delivered and durable, receipts included
  double latency_p50_us = 0;         // send_text() until the receiver has committed it
  double latency_p99_us = 0;
};
// Measured once per process; later calls return the same figures.
const TextFigures& text_figures();
// The same flood and the same one-at-a-time path through the bare libraries (text_bench.cpp
// says what they do, and what they leave out).
const TextFigures& text_figures_bare();

// One sender and 8 members, every message archived (durably) by every member (issue 5).
double channel_fanout_msgs_per_s();

// Push-to-talk voice between real nodes on loopback (issue 6; voice_bench.cpp says how each is
// measured). Figures measured together are measured once per process.
double voice_frame_cpu_us();       // CPU per 20 ms frame, talker + 1 listener, encode -> decode
double voice_frame_cpu_us_bare();  // bare Opus encode + decode of the same frames
double voice_delay_p50_ms();       // last sample captured -> decoded, 8 listeners, 20 ms frames
double voice_delay_p99_ms();
double voice_delay_p99_ms_10ms();  // the same with 10 ms frames
double voice_pipeline_p99_ms();    // encoder input -> decoded PCM, 8 listeners, 20 ms frames
double voice_max_listeners();      // extrapolated from the talker's measured per-listener cost

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
