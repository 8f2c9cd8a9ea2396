// Figures measured by `make bench`, one function each; bench_main.cpp prints them.
#pragma once

namespace sotto::bench {

double transport_roundtrip_us();
double transport_roundtrip_us_bare();

struct TextFigures {
  double throughput_msgs_per_s = 0;
  double latency_p50_us = 0;
  double latency_p99_us = 0;
};
TextFigures text_figures();

}  // namespace sotto::bench
