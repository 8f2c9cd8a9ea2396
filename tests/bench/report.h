// How `make bench` prints its figures, from one run or from many.
//
// One run prints a line per figure, in the order of the figure list:
//   name value unit              e.g. `signal_roundtrip_us 51.3 us`
//   name NA reason               a figure this run could not measure, and why
//
// `sotto-bench --repeat N` (`make bench BENCH_REPEAT=N`) runs the bench N times, each a fresh
// process (nothing measured once per process carries over), and prints per figure the median
// and the range of the N values, the first three fields as in one run:
//   name median unit (range min-max, N runs)
//   name median unit (range min-max, K of N runs; NA: reason)   when some runs could not
//   name NA reason                                              when no run could
// `--markdown` then adds the table doc/performance.md holds: each figure with its twins beside
// it and the ratio of their medians.
#pragma once

#include <string>
#include <vector>

namespace sotto::bench {

struct FigureInfo {
  const char* name;
  const char* unit;
  // The `_bare` figures that do the same work without sotto, for the table; empty for a twin
  // itself and for a figure that has none.
  std::vector<const char*> twins;
};

void print_figure(const std::string& name, double value, const std::string& unit,
                  const std::string& na);

// Runs this program `runs` times with `filters` (figure names to run, as on its command line)
// and prints what the top of this file says. Returns the exit code for main.
int run_repeated(int runs, const std::vector<std::string>& filters,
                 const std::vector<FigureInfo>& figures, bool markdown);

}  // namespace sotto::bench
