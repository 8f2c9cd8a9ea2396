// Figures measured by `make bench`, one function each; bench_main.cpp prints them.
// Every figure is the median of several timed runs after a warm-up, so one slow run (another
// process on the machine, a page-cache flush) does not move it. A NaN means "skipped"; the reason
// went to stderr.
#pragma once

namespace sotto::bench {

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

// One sender and 8 members, every message archived (durably) by every member (issue 5).
double channel_fanout_msgs_per_s();

}  // namespace sotto::bench
