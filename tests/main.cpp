// The one Catch2 test binary: every unit and integration test links into it.
//
// `sotto-tests --as-sotto ARGS...` runs sotto itself instead, with a crash point optionally
// armed (tests/support/crash_points.h): the daemon of a crash-point test is this binary, so the
// arming code never ships in build/sotto.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <string>

#include "tests/support/crash_points.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--as-sotto") {
    return sotto::test::run_as_sotto(argc - 1, argv + 1);
  }
  return Catch::Session().run(argc, argv);
}
