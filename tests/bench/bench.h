// Figures measured by `make bench`, one function each; bench_main.cpp prints them.
#pragma once

namespace sotto::bench {

double transport_roundtrip_us();
double transport_roundtrip_us_bare();

}  // namespace sotto::bench
