// Crash points (include/sotto/base/crash_point.h) are for fault-injection tests only: disarmed
// they do nothing, and the production binary does not even carry the code that arms them.
#include "sotto/base/crash_point.h"

#include <catch2/catch.hpp>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

using namespace sotto;

namespace {

int g_hits = 0;

void count_hit(CrashPoint point) {
  if (point == CrashPoint::kAfterCommitBeforeSend) ++g_hits;
}

}  // namespace

TEST_CASE("a crash point calls only the handler a test installed, and nothing once disarmed",
          "[base][crash-points]") {
  g_hits = 0;
  crash_point(CrashPoint::kAfterCommitBeforeSend);  // disarmed: a no-op
  set_crash_handler(count_hit);
  crash_point(CrashPoint::kAfterCommitBeforeSend);
  crash_point(CrashPoint::kAfterDecryptBeforeCommit);
  set_crash_handler(nullptr);
  crash_point(CrashPoint::kAfterCommitBeforeSend);
  CHECK(g_hits == 1);
}

TEST_CASE("build/sotto cannot arm a crash point: the arming code lives in the test binary only",
          "[base][crash-points]") {
  // tests/support/crash_points.cpp's option (in this binary, not in that one).
  CHECK_FALSE(test::file_contains(test::sotto_binary(), "--crash-at"));
}
