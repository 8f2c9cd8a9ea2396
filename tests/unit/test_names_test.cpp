// Catch2 2.13's console reporter indents the continuation lines of a test's name to just after
// its first ": ", and aborts the whole run (an assertion in its text wrapper) when that point
// lies past its 80 columns. A name that does so only shows when the test prints something, e.g.
// a WARN with its figures, so the whole suite is checked here, at once.
#include <catch2/catch.hpp>
#include <string>

TEST_CASE("no test name has its first ': ' where the console reporter cannot indent to", "[meta]") {
  const Catch::IConfig& config = *Catch::getCurrentContext().getConfig();
  for (const Catch::TestCase& test : Catch::getAllTestCasesSorted(config)) {
    const std::string& name = test.getTestCaseInfo().name;
    const size_t colon = name.find(": ");
    INFO(name);
    CHECK((colon == std::string::npos || colon + 2 < 70));
  }
}
