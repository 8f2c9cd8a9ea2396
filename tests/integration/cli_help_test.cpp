// What `--help` tells a new user, read from the real build/sotto binary.
#include <catch2/catch.hpp>

#include "tests/support/process.h"

using sotto::test::run_sotto;

TEST_CASE("history --help says it shows the newest 50 unless --limit says otherwise",
          "[cli][help]") {
  const auto result = run_sotto({"history", "--help"});
  CHECK(result.exit_code == 0);
  CHECK(result.out.find("the newest 50 unless --limit says otherwise") != std::string::npos);
  CHECK(result.out.find("the newest (default 50)") != std::string::npos);
}
