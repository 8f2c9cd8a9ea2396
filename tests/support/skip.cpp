#include "tests/support/skip.h"

#include <cstdlib>
#include <fstream>

namespace sotto::test {
namespace {

bool env_is(const char* name, const char* value) {
  const char* set = std::getenv(name);
  return set != nullptr && std::string(set) == value;
}

// One line per record; tabs and newlines in a name or reason would break the runner's columns.
std::string one_field(std::string text) {
  for (char& c : text) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

void record(const char* kind, const std::string& reason) {
  const char* log = std::getenv("SOTTO_SKIP_LOG");
  if (log == nullptr || *log == '\0') return;
  std::ofstream out(log, std::ios::app);
  out << kind << '\t' << one_field(Catch::getResultCapture().getCurrentTestName()) << '\t'
      << one_field(reason) << '\n';
}

}  // namespace

bool prerequisites_required() {
  return env_is("CI", "true") || env_is("SOTTO_REQUIRE_PREREQUISITES", "1");
}

void skip(const std::string& reason) {
  if (prerequisites_required()) {
    FAIL("missing prerequisite, which this machine must have (CI=true or make test as root): "
         << reason);
  }
  WARN("skipped: " << reason);
  record("skip", reason);
}

void unchecked(const std::string& reason) {
  WARN("not checked: " << reason);
  record("unchecked", reason);
}

}  // namespace sotto::test
