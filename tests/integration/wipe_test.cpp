// `sotto wipe` (issue 8): destroys a profile for good, but only when asked in so many words, and
// never under a running node.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;

namespace {}  // namespace

TEST_CASE("wipe refuses without confirmation or under a running node, and otherwise leaves nothing",
          "[cli][archive][integration]") {
  test::DaemonProfile alice("alice");
  const std::string dir = alice.dir();
  const Bytes header = test::read_file(dir + "/sotto.hdr");
  const Bytes database = test::read_file(dir + "/sotto.db");

  // No terminal to ask on, no --yes: refused, nothing touched.
  auto unconfirmed = test::run_sotto({"--profile", dir, "wipe"});
  CHECK(unconfirmed.exit_code == 2);
  CHECK(one_line_error(unconfirmed));
  CHECK(test::read_file(dir + "/sotto.hdr") == header);
  CHECK(test::read_file(dir + "/sotto.db") == database);

  // A node has it open: refused, the node keeps running on an intact profile.
  alice.start();
  auto in_use = test::run_sotto({"--profile", dir, "wipe", "--yes"});
  CHECK(in_use.exit_code == 1);
  CHECK(one_line_error(in_use));
  CHECK(in_use.err.find("in use") != std::string::npos);
  CHECK(test::read_file(dir + "/sotto.hdr") == header);
  CHECK(alice.sotto({"peers"}).exit_code == 0);
  alice.stop();

  auto wiped = test::run_sotto({"--profile", dir, "wipe", "--yes"});
  INFO(wiped.err);
  CHECK(wiped.exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(dir));
  // Nothing to open any more, and nothing to wipe twice.
  CHECK(alice.sotto_unlocked({"id"}).exit_code == 1);
  auto again = test::run_sotto({"--profile", dir, "wipe", "--yes"});
  CHECK(again.exit_code == 1);
  CHECK(one_line_error(again));
}
