#include "tests/bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

namespace sotto::bench {
namespace {

struct Collected {
  std::string unit;
  std::vector<double> values;
  std::string na;  // the reason the last run that could not measure it gave
  int na_runs = 0;
};

std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// One run of this program, its figures added to `collected`. False when it could not run.
bool run_once(const std::vector<std::string>& filters,
              std::map<std::string, Collected>& collected) {
  // Resolved here: inside the shell popen starts, /proc/self/exe is the shell.
  std::error_code error;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", error).string();
  if (error) return false;
  std::string command = quoted(self);
  for (const std::string& filter : filters) command += " " + quoted(filter);
  FILE* out = ::popen(command.c_str(), "r");
  if (out == nullptr) return false;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, out) != nullptr) {
    std::istringstream line(buffer);
    std::string name, value, unit;
    if (!(line >> name >> value)) continue;
    Collected& figure = collected[name];
    if (value == "NA") {
      std::getline(line >> std::ws, figure.na);
      ++figure.na_runs;
    } else if (line >> unit) {
      figure.unit = unit;
      figure.values.push_back(std::strtod(value.c_str(), nullptr));
    }
  }
  return ::pclose(out) == 0;
}

std::string range_of(const Collected& figure) {
  const auto [low, high] = std::minmax_element(figure.values.begin(), figure.values.end());
  return number(*low) + "–" + number(*high);
}

void print_table(const std::vector<FigureInfo>& figures,
                 const std::map<std::string, Collected>& collected, int runs) {
  std::set<std::string> twins;
  for (const FigureInfo& figure : figures) twins.insert(figure.twins.begin(), figure.twins.end());
  auto cells = [&](const std::string& name) -> std::pair<std::string, std::string> {
    auto it = collected.find(name);
    if (it == collected.end() || it->second.values.empty()) {
      return {it == collected.end() ? "not run" : "NA: " + it->second.na, ""};
    }
    return {number(median(it->second.values)) + " " + it->second.unit, range_of(it->second)};
  };
  std::printf(
      "\n| figure | median | range (%d run%s) | twin | twin median | twin range | ratio |\n", runs,
      runs == 1 ? "" : "s");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const FigureInfo& figure : figures) {
    if (twins.count(figure.name) > 0 || collected.count(figure.name) == 0) continue;
    const auto [value, range] = cells(figure.name);
    if (figure.twins.empty()) {
      std::printf("| `%s` | %s | %s | | | | |\n", figure.name, value.c_str(), range.c_str());
      continue;
    }
    bool first = true;
    for (const char* twin : figure.twins) {
      const auto [twin_value, twin_range] = cells(twin);
      std::string ratio;
      auto a = collected.find(figure.name), b = collected.find(twin);
      if (a != collected.end() && b != collected.end() && !a->second.values.empty() &&
          !b->second.values.empty()) {
        char text[32];
        std::snprintf(text, sizeof text, "%.2f×",
                      median(a->second.values) / median(b->second.values));
        ratio = text;
      }
      std::printf("| %s | %s | %s | `%s` | %s | %s | %s |\n",
                  first ? ("`" + std::string(figure.name) + "`").c_str() : "",
                  first ? value.c_str() : "", first ? range.c_str() : "", twin, twin_value.c_str(),
                  twin_range.c_str(), ratio.c_str());
      first = false;
    }
  }
}

}  // namespace

void print_figure(const std::string& name, double value, const std::string& unit,
                  const std::string& na) {
  if (std::isnan(value)) {
    std::printf("%s NA %s\n", name.c_str(), na.empty() ? "not measured (see stderr)" : na.c_str());
  } else {
    std::printf("%s %.1f %s\n", name.c_str(), value, unit.c_str());
  }
  std::fflush(stdout);
}

int run_repeated(int runs, const std::vector<std::string>& filters,
                 const std::vector<FigureInfo>& figures, bool markdown) {
  ::unsetenv("BENCH_REPEAT");  // the runs below are one run each
  std::map<std::string, Collected> collected;
  for (int run = 1; run <= runs; ++run) {
    std::fprintf(stderr, "bench: run %d of %d\n", run, runs);
    if (!run_once(filters, collected)) {
      std::fprintf(stderr, "bench: run %d failed\n", run);
      return 1;
    }
  }
  for (const FigureInfo& info : figures) {
    auto it = collected.find(info.name);
    if (it == collected.end()) continue;  // not asked for
    const Collected& figure = it->second;
    if (figure.values.empty()) {
      print_figure(info.name, NAN, "", figure.na);
      continue;
    }
    std::string runs_text = std::to_string(runs) + (runs == 1 ? " run" : " runs");
    if (figure.na_runs > 0) {
      runs_text = std::to_string(figure.values.size()) + " of " + runs_text + "; NA: " + figure.na;
    }
    std::printf("%s %s %s (range %s, %s)\n", info.name, number(median(figure.values)).c_str(),
                figure.unit.c_str(), range_of(figure).c_str(), runs_text.c_str());
  }
  if (markdown) print_table(figures, collected, runs);
  return 0;
}

}  // namespace sotto::bench
