// The short variant of `make scale` (tests/scale/scale_run.h): 12 daemons in network namespaces
// with real discovery, one channel of all 12, a text and a PTT transmission. It checks what the
// nodes do, not how fast: the timing limits are `make scale`'s, on a quiet machine.
// Needs root and iproute2; skips otherwise, as the other network-namespace tests do.
#include <catch2/catch.hpp>
#include <iostream>

#include "tests/scale/scale_run.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"

using namespace std::chrono_literals;

TEST_CASE(
    "scale harness, 12 nodes: all see all, one command builds the channel of all, and "
    "a text and a PTT transmission reach every member",
    "[scale][integration]") {
  SOTTO_SKIP_UNLESS(sotto::test::have_alsa_speech(), sotto::test::kNoAlsaSpeech);
  sotto::test::ScaleOptions options;
  options.nodes = 12;
  // Behaviour only: the idle figures need no steady state here, and links are not checked.
  options.idle_settle = 0s;
  options.idle_window = 1s;
  options.links_deadline = 0s;
  options.parallel = 2;
  std::vector<std::string> notes;
  options.note = [&](const std::string& line) { notes.push_back(line); };
  std::string why_not;
  const auto report = sotto::test::run_scale(options, why_not);
  if (!report) SOTTO_SKIP(why_not);
  for (const auto& line : notes) UNSCOPED_INFO(line);
  for (const auto& f : report->figures) UNSCOPED_INFO(f.name << " " << f.value << " " << f.unit);
  CHECK(report->all_see_all);
  CHECK(report->channel_built);
  CHECK(report->text_reached_all);
  CHECK(report->ptt_heard);
  CHECK(report->missed.empty());
}
