// Mailboxes through the CLI (man sotto, "mailbox"; doc/guide.md, Shift change: mailboxes): three
// daemons, the mailbox named by the name it goes by, `history` showing where a message is, and
// `mailbox status` on the user's node and on the mailbox itself.
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

std::string state_of(const DaemonProfile& node, const std::string& to, const std::string& body) {
  for (const auto& m : node.history(to)) {
    if (m.value("body", "") == body) return m.value("state", "");
  }
  return "";
}

json status_of(const DaemonProfile& node) {
  const auto lines = test::json_lines(node.sotto_ok({"--json", "mailbox", "status"}));
  REQUIRE(lines.size() == 1);
  return lines.front();
}

}  // namespace

TEST_CASE(
    "mailbox cli: bob names the office as his mailbox; alice's text waits there, then reaches him",
    "[mailbox][cli][integration]") {
  DaemonProfile office("office");
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  DaemonProfile plain("plain");
  office.start({"--mailbox"});
  plain.start();
  alice.start();
  bob.start({"--peer", alice.endpoint(), "--peer", office.endpoint(), "--peer", plain.endpoint()});
  REQUIRE(wait_until([&] { return alice.peer_state("bob") == "online"; }, 8s));
  alice.sotto_ok({"add", "bob"});
  bob.sotto_ok({"add", "alice"});
  REQUIRE(wait_until([&] { return bob.peer_state(office.fingerprint()) == "online"; }, 8s));

  // A node that does not serve as a mailbox says no, and bob keeps none.
  const auto refused = bob.sotto({"mailbox", "use", "plain"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("does not take us") != std::string::npos);
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);
  CHECK(status_of(bob)["mailbox"].is_null());
  const auto unknown = bob.sotto({"mailbox", "use", "nobody-here"});
  CHECK(unknown.exit_code == 2);

  // By the name the office goes by (its Hello gives bob only a digest of it).
  const std::string used = bob.sotto_ok({"mailbox", "use", "office"});
  CHECK(used.find("accepted") != std::string::npos);
  json mine = status_of(bob)["mailbox"];
  CHECK(mine.value("fingerprint", "") == office.fingerprint());
  CHECK(mine.value("state", "") == "accepted");
  REQUIRE(wait_until(
      [&] { return alice.stats().value("mailbox_records_received", uint64_t{0}) >= 1; }, 8s));

  bob.stop();
  REQUIRE(wait_until([&] { return alice.peer_state("bob") != "online"; }, 10s));
  alice.sotto_ok({"send", "bob", "crane tag 114 expires Friday"});
  REQUIRE(wait_until(
      [&] { return state_of(alice, "bob", "crane tag 114 expires Friday") == "at_mailbox"; }, 15s));
  CHECK(alice.sotto_ok({"history", "bob"}).find("[at_mailbox]") != std::string::npos);
  const json serving = status_of(office);
  CHECK(serving.value("serving", false));
  REQUIRE(serving["users"].size() == 1);
  CHECK(serving["users"][0].value("fingerprint", "") == bob.fingerprint());
  CHECK(serving["users"][0].value("held", -1) == 1);
  CHECK(office.sotto_ok({"mailbox", "status"}).find("1 waiting") != std::string::npos);
  CHECK_FALSE(status_of(plain).value("serving", true));

  alice.stop();
  bob.start({"--peer", office.endpoint()});
  REQUIRE(wait_until(
      [&] {
        const auto history = bob.history("alice");
        return std::any_of(history.begin(), history.end(), [](const json& m) {
          return m.value("body", "") == "crane tag 114 expires Friday";
        });
      },
      15s));
  alice.start({"--peer", bob.endpoint()});
  REQUIRE(wait_until(
      [&] { return state_of(alice, "bob", "crane tag 114 expires Friday") == "delivered"; }, 15s));
  bob.sotto_ok({"mailbox", "off"});
  CHECK(status_of(bob)["mailbox"].is_null());
}
