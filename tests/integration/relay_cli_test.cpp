// The shift change through the CLI (issue 24, man sotto "Shift change"): three daemons, the
// member who was away reads what the absent author said, handed on by another member; `history`
// says it was relayed, `--json` says by whom, and the author, back, sees it delivered.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/daemon.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using test::DaemonProfile;
using test::wait_until;

namespace {

size_t count_body(const std::vector<json>& history, const std::string& body) {
  return static_cast<size_t>(std::count_if(
      history.begin(), history.end(), [&](const json& m) { return m.value("body", "") == body; }));
}

bool has_all(const DaemonProfile& node, const std::vector<std::string>& bodies) {
  const auto history = node.history("#ops");
  return std::all_of(bodies.begin(), bodies.end(),
                     [&](const std::string& body) { return count_body(history, body) == 1; });
}

}  // namespace

TEST_CASE("relay cli: carol, back on shift, reads alice's notes from bob while alice is away",
          "[channels][relay][cli][integration]") {
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  DaemonProfile carol("carol");
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  carol.start({"--peer", alice.endpoint(), "--peer", bob.endpoint()});
  REQUIRE(wait_until(
      [&] { return alice.peer_state("bob") == "online" && alice.peer_state("carol") == "online"; },
      8s));
  for (const char* member : {"bob", "carol"}) {
    alice.sotto_ok({"add", member});
    alice.sotto_ok({"verify", member, "--confirm"});
  }
  alice.sotto_ok({"channel", "create", "ops", "--members", "bob,carol"});
  bob.accept_invitation(alice.fingerprint(), "ops");
  carol.accept_invitation(alice.fingerprint(), "ops");
  alice.sotto_ok({"send", "#ops", "on watch"});  // alice's key reaches both with it
  REQUIRE(
      wait_until([&] { return has_all(bob, {"on watch"}) && has_all(carol, {"on watch"}); }, 10s));

  carol.stop();
  const std::vector<std::string> notes = {"pump 3 tripped twice", "reset at 04:10",
                                          "spare seal in locker 2"};
  for (const auto& note : notes) alice.sotto_ok({"send", "#ops", note});
  REQUIRE(wait_until([&] { return has_all(bob, notes); }, 10s));
  alice.stop();

  carol.start({"--peer", bob.endpoint()});
  REQUIRE(wait_until([&] { return has_all(carol, notes); }, 15s));
  for (const auto& m : carol.history("#ops")) {
    if (std::find(notes.begin(), notes.end(), m.value("body", "")) == notes.end()) continue;
    CHECK(m.value("sender", "") == alice.fingerprint());
    CHECK(m.value("relayed_by", "") == bob.fingerprint());
  }
  const std::string shown = carol.sotto_ok({"history", "#ops"});
  CHECK(shown.find("pump 3 tripped twice  [received, relayed]") != std::string::npos);
  CHECK(shown.find(bob.fingerprint().substr(0, 16)) == std::string::npos);  // who: --json only

  // alice is back: carol's marks tell her what arrived; nothing goes to carol twice.
  const uint64_t duplicates = carol.stats().value("message_duplicates", uint64_t{0});
  alice.start({"--peer", bob.endpoint(), "--peer", carol.endpoint()});
  REQUIRE(wait_until(
      [&] {
        const auto mine = alice.history("#ops");
        return std::all_of(notes.begin(), notes.end(), [&](const std::string& note) {
          return std::any_of(mine.begin(), mine.end(), [&](const json& m) {
            return m.value("body", "") == note && m.value("state", "") == "delivered";
          });
        });
      },
      15s));
  CHECK(carol.stats().value("message_duplicates", uint64_t{0}) == duplicates);
  CHECK(has_all(carol, notes));
}
