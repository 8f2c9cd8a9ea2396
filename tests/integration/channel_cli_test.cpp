// The channel commands of the CLI contract (man sotto, issue 5) against real daemons:
// `sotto channel create|invite|remove|leave|list|roster`, `send '#NAME'`, `history '#NAME'`, their
// --json output and the control socket's {"cmd":"channel"} requests; bad input refused with one
// line on stderr, exit 2, and nothing changed.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/support/channel_lab.h"
#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using test::DaemonProfile;
using test::wait_until;

namespace {

// Exactly one line on stderr, nothing on stdout: what a script sees from a refused command.
bool online(const DaemonProfile& a, const std::string& name) {
  return a.peer_state(name) == "online";
}

// `sotto COMMAND` that must succeed; its stdout.
// The channel through the control socket, or null when the node does not know it.
json channel_of(const DaemonProfile& node, const std::string& name) {
  json reply = node.request({{"cmd", "channel"}, {"action", "roster"}, {"name", name}});
  if (!reply.value("ok", false)) return nullptr;
  return reply["channel"];
}

std::set<std::string> member_fingerprints(const json& channel) {
  std::set<std::string> out;
  for (const auto& m : channel.value("members", json::array())) {
    out.insert(m.value("fingerprint", ""));
  }
  return out;
}

// What a refused command must not change: each channel's name, state, epoch, code and members
// (not online flags, which come and go on their own).
std::vector<std::string> channels_summary(const DaemonProfile& node) {
  json reply = node.request({{"cmd", "channel"}, {"action", "list"}});
  std::vector<std::string> out;
  for (const auto& c : reply.value("channels", json::array())) {
    std::string line = c.value("name", "") + " " + c.value("state", "") + " " +
                       std::to_string(c.value("epoch", uint64_t{0})) + " " +
                       c.value("security_code", "");
    for (const auto& fp : member_fingerprints(c)) line += " " + fp;
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t count_body(const std::vector<json>& history, const std::string& body) {
  return static_cast<size_t>(std::count_if(
      history.begin(), history.end(), [&](const json& m) { return m.value("body", "") == body; }));
}

// Bob sees #ops as a member with the admin's epoch and code.
bool joined(const DaemonProfile& member, const json& at_admin) {
  json seen = channel_of(member, "ops");
  return !seen.is_null() && seen.value("state", "") == "member" &&
         seen.value("epoch", uint64_t{0}) == at_admin.value("epoch", uint64_t{0}) &&
         seen.value("security_code", "") == at_admin.value("security_code", "");
}

}  // namespace

TEST_CASE(
    "bad channel input to the CLI is refused with one line on stderr and exit 2, and "
    "nothing changes",
    "[channels][cli][integration]") {
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  DaemonProfile carol("carol");
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  carol.start({"--peer", alice.endpoint(), "--peer", bob.endpoint()});
  REQUIRE(wait_until(
      [&] { return online(alice, "bob") && online(alice, "carol") && online(bob, "carol"); }, 8s));

  // Alice's #ops with Bob (verified) in it; Bob has verified Carol himself.
  alice.sotto_ok({"add", "bob"});
  alice.sotto_ok({"verify", "bob", "--confirm"});
  alice.sotto_ok({"channel", "create", "ops"});
  alice.sotto_ok({"channel", "invite", "ops", "bob"});
  bob.accept_invitation(alice.fingerprint(), "ops");
  const json at_alice = channel_of(alice, "ops");
  REQUIRE_FALSE(at_alice.is_null());
  REQUIRE(wait_until([&] { return joined(bob, at_alice); }, 8s));
  bob.sotto_ok({"add", "carol"});
  bob.sotto_ok({"verify", "carol", "--confirm"});

  const auto alice_channels = channels_summary(alice);
  const auto bob_channels = channels_summary(bob);
  const auto alice_history = alice.history("#ops");
  const auto bob_history = bob.history("#ops");
  REQUIRE(alice_channels.size() == 1);

  struct Case {
    const char* what;
    const DaemonProfile* who;
    std::vector<std::string> args;
  };
  auto refuse = [](const Case& c) {
    INFO(c.what);
    auto result = c.who->sotto(c.args);
    INFO("exit " << result.exit_code << ", stdout: " << result.out << ", stderr: " << result.err);
    CHECK(result.exit_code == 2);
    CHECK(one_line_error(result));
  };
  const std::vector<Case> before_contact = {
      {"roster of an unknown channel", &alice, {"channel", "roster", "nosuch"}},
      {"text to an unknown channel", &alice, {"send", "#nosuch", "hi"}},
      {"invite into an unknown channel", &alice, {"channel", "invite", "nosuch", "bob"}},
      {"remove from an unknown channel", &alice, {"channel", "remove", "nosuch", "bob"}},
      {"leave an unknown channel", &alice, {"channel", "leave", "nosuch"}},
      {"duplicate name", &alice, {"channel", "create", "ops"}},
      {"duplicate name, --open", &alice, {"channel", "create", "ops", "--open"}},
      {"empty name", &alice, {"channel", "create", ""}},
      {"invite a non-contact", &alice, {"channel", "invite", "ops", "carol"}},
      {"invite a peer nobody knows", &alice, {"channel", "invite", "ops", "zed"}},
      {"a non-admin invites", &bob, {"channel", "invite", "ops", "carol"}},
      {"a non-admin removes", &bob, {"channel", "remove", "ops", "alice"}},
      {"missing PEER", &alice, {"channel", "invite", "ops"}},
      {"unknown action", &alice, {"channel", "frobnicate", "ops"}},
  };
  for (const auto& c : before_contact) refuse(c);
  // Carol becomes Alice's contact, unverified: still not welcome in a strict channel.
  alice.sotto_ok({"add", "carol"});
  refuse({"invite an unverified contact into a strict channel",
          &alice,
          {"channel", "invite", "ops", "carol"}});

  // The control socket refuses the same with an error reply.
  for (const json& request :
       {json{{"cmd", "channel"}, {"action", "roster"}, {"name", "nosuch"}},
        json{{"cmd", "channel"}, {"action", "invite"}, {"name", "ops"}, {"peer", "carol"}},
        json{{"cmd", "channel"}, {"action", "create"}, {"name", "ops"}, {"strict", true}},
        json{{"cmd", "channel"}, {"action", "frobnicate"}},
        json{{"cmd", "channel"}, {"action", "invite"}, {"name", 7}, {"peer", "carol"}}}) {
    INFO(request.dump());
    json reply = alice.request(request);
    CHECK(reply.value("ok", true) == false);
    CHECK_FALSE(reply.value("error", "").empty());
  }

  // Nothing changed: same channels, epochs, codes and members; no new history; Carol has none.
  CHECK(channels_summary(alice) == alice_channels);
  CHECK(channels_summary(bob) == bob_channels);
  CHECK(alice.history("#ops") == alice_history);
  CHECK(bob.history("#ops") == bob_history);
  const json carol_list = carol.request({{"cmd", "channel"}, {"action", "list"}});
  CHECK(carol_list.value("ok", false));
  CHECK(carol_list.value("channels", json::array()).empty());
  const json stats = alice.stats();
  CHECK(stats.value("channel_update_rejected", uint64_t{0}) == 0);

  // An open channel (--open) takes the unverified contact.
  const std::string created = alice.sotto_ok({"--json", "channel", "create", "lobby", "--open"});
  auto lobby = json::parse(created);
  CHECK(lobby.value("name", "") == "lobby");
  CHECK(lobby.value("strict", true) == false);
  alice.sotto_ok({"channel", "invite", "lobby", "carol"});
  carol.accept_invitation(alice.fingerprint(), "lobby");
  REQUIRE(wait_until(
      [&] {
        json seen = channel_of(carol, "lobby");
        return !seen.is_null() && seen.value("state", "") == "member";
      },
      8s));
}

TEST_CASE(
    "the CLI creates a channel, lists it, shows its roster as text and JSON, sends to it "
    "and reads its history",
    "[channels][cli][integration]") {
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  // Bob dialled Alice (--peer), so she sees his name; he sees her by fingerprint until she
  // makes him a contact.
  REQUIRE(wait_until([&] { return online(alice, "bob") && online(bob, alice.fingerprint()); }, 8s));
  alice.sotto_ok({"add", "bob"});
  alice.sotto_ok({"verify", "bob", "--confirm"});

  // create --json: the channel object; a strict, locked channel of Alice's.
  const json created = json::parse(alice.sotto_ok({"--json", "channel", "create", "ops"}));
  CHECK(created.value("name", "") == "ops");
  CHECK(created.value("strict", false) == true);
  CHECK(created.value("locked", false) == true);
  CHECK(created.value("admin", "") == alice.fingerprint());
  const std::string id = created.value("id", "");
  CHECK(id.size() == 32);

  const std::string invited = alice.sotto_ok({"channel", "invite", "ops", "bob"});
  CHECK_FALSE(invited.empty());
  bob.accept_invitation(alice.fingerprint(), "ops");
  const json at_alice = channel_of(alice, "ops");
  REQUIRE_FALSE(at_alice.is_null());
  REQUIRE(wait_until([&] { return joined(bob, at_alice); }, 8s));
  // Once Bob is online on Alice's roster (his liveness is the node's peer state).
  REQUIRE(wait_until(
      [&] {
        json seen = channel_of(alice, "ops");
        for (const auto& m : seen.value("members", json::array())) {
          if (!m.value("online", false)) return false;
        }
        return seen.value("members", json::array()).size() == 2;
      },
      5s));

  // list, as text and as JSON (one channel object per line).
  const std::string listed = alice.sotto_ok({"channel", "list"});
  CHECK(listed.find("ops") != std::string::npos);
  auto list_json = test::json_lines(alice.sotto_ok({"--json", "channel", "list"}));
  REQUIRE(list_json.size() == 1);
  CHECK(list_json.front().value("name", "") == "ops");
  CHECK(list_json.front().value("id", "") == id);
  auto bob_list = test::json_lines(bob.sotto_ok({"--json", "channel", "list"}));
  REQUIRE(bob_list.size() == 1);
  CHECK(bob_list.front().value("id", "") == id);

  // roster --json: every field of the channel and of each member.
  auto roster_lines = test::json_lines(alice.sotto_ok({"--json", "channel", "roster", "ops"}));
  REQUIRE(roster_lines.size() == 1);
  const json roster = roster_lines.front();
  INFO(roster.dump());
  for (const char* field : {"id", "name", "admin", "admin_name", "epoch", "locked", "strict",
                            "security_code", "state", "members"}) {
    INFO(field);
    CHECK(roster.contains(field));
  }
  CHECK(roster.value("id", "") == id);
  CHECK(roster.value("name", "") == "ops");
  CHECK(roster.value("admin", "") == alice.fingerprint());
  CHECK(roster.value("admin_name", "") == "alice");
  CHECK(roster.value("state", "") == "member");
  CHECK(roster.value("locked", false));
  CHECK(roster.value("strict", false));
  CHECK(roster.value("epoch", uint64_t{0}) > created.value("epoch", uint64_t{0}));
  const std::string code = roster.value("security_code", "");
  CHECK(test::is_security_code(code));
  REQUIRE(roster["members"].is_array());
  REQUIRE(roster["members"].size() == 2);
  for (const auto& m : roster["members"]) {
    INFO(m.dump());
    for (const char* field :
         {"fingerprint", "name", "identity_key", "admin", "online", "on_air", "trust"}) {
      INFO(field);
      CHECK(m.contains(field));
    }
    // vouched_by names the admin for a vouched member; for anyone else it is empty or absent.
    if (m.value("trust", "") == "vouched") {
      CHECK(m.value("vouched_by", "") == "alice");
    } else {
      CHECK(m.value("vouched_by", "") == "");
    }
    const bool is_alice = m.value("fingerprint", "") == alice.fingerprint();
    CHECK(m.value("name", "") == (is_alice ? "alice" : "bob"));
    CHECK(m.value("admin", !is_alice) == is_alice);
    CHECK(m.value("trust", "") == (is_alice ? "me" : "verified"));
    CHECK(m.value("online", false));
    CHECK(m.value("on_air", true) == false);
    CHECK_FALSE(m.value("identity_key", "").empty());
  }
  CHECK(member_fingerprints(roster) ==
        std::set<std::string>{alice.fingerprint(), bob.fingerprint()});
  // Bob's roster shows the same code.
  auto bob_roster = test::json_lines(bob.sotto_ok({"--json", "channel", "roster", "#ops"}));
  REQUIRE(bob_roster.size() == 1);
  CHECK(bob_roster.front().value("security_code", "") == code);

  // roster as text: each member with its state, and the code.
  const std::string text = alice.sotto_ok({"channel", "roster", "ops"});
  CHECK(text.find(code) != std::string::npos);
  CHECK(text.find("alice") != std::string::npos);
  CHECK(text.find("bob") != std::string::npos);
  CHECK(text.find("online") != std::string::npos);
  CHECK(text.find("verified") != std::string::npos);

  // The control socket answers the same objects.
  json reply = alice.request({{"cmd", "channel"}, {"action", "list"}});
  REQUIRE(reply.value("ok", false));
  REQUIRE(reply["channels"].size() == 1);
  CHECK(reply["channels"][0].value("security_code", "") == code);

  // Text both ways through the channel.
  alice.sotto_ok({"send", "#ops", "hello, ops"});
  bob.sotto_ok({"send", "#ops", "bob on ops"});
  REQUIRE(wait_until(
      [&] {
        return count_body(bob.history("#ops"), "hello, ops") == 1 &&
               count_body(alice.history("#ops"), "bob on ops") == 1;
      },
      8s));
  auto history = test::json_lines(alice.sotto_ok({"--json", "history", "#ops"}));
  CHECK(count_body(history, "hello, ops") == 1);
  CHECK(count_body(history, "bob on ops") == 1);
  size_t system = 0;
  for (const auto& m : history) {
    INFO(m.dump());
    CHECK(m.value("conversation", "") == "#" + id);
    CHECK(m.value("channel", "") == "ops");
    const std::string kind = m.value("kind", "");
    CHECK((kind == "text" || kind == "system"));
    if (kind == "system") ++system;
    if (m.value("body", "") == "hello, ops") {
      CHECK(kind == "text");
      CHECK(m.value("outgoing", false));
      CHECK(m.value("sender", "") == alice.fingerprint());
    }
    if (m.value("body", "") == "bob on ops") {
      CHECK(kind == "text");
      CHECK_FALSE(m.value("outgoing", true));
      CHECK(m.value("sender_name", "") == "bob");
    }
  }
  CHECK(system >= 2);  // created, invited bob
  const std::string human = bob.sotto_ok({"history", "#ops"});
  CHECK(human.find("hello, ops") != std::string::npos);
  CHECK(human.find("bob on ops") != std::string::npos);
  // Alice's 1:1 history with Bob holds none of the channel's text.
  CHECK(count_body(alice.history("bob"), "hello, ops") == 0);

  // Bob leaves: his channel is "left", Alice's roster loses him and says so in the trail.
  bob.sotto_ok({"channel", "leave", "ops"});
  REQUIRE(wait_until(
      [&] {
        json seen = channel_of(alice, "ops");
        return member_fingerprints(seen) == std::set<std::string>{alice.fingerprint()};
      },
      8s));
  json left = channel_of(bob, "ops");
  REQUIRE_FALSE(left.is_null());
  CHECK(left.value("state", "") == "left");
  json after = channel_of(alice, "ops");
  CHECK(after.value("security_code", "") != code);
  auto trail = alice.history("#ops");
  CHECK(std::any_of(trail.begin(), trail.end(), [](const json& m) {
    return m.value("kind", "") == "system" && m.value("body", "").find("left") != std::string::npos;
  }));
  // A member who left cannot write to the channel.
  auto refused = bob.sotto({"send", "#ops", "still here?"});
  CHECK(refused.exit_code != 0);
  CHECK(one_line_error(refused));
}

TEST_CASE(
    "channel create --members and an invite of several are one roster change each; a bad list "
    "is refused naming the member, and nothing changes",
    "[channels][cli][integration]") {
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  DaemonProfile carol("carol");
  DaemonProfile dave("dave");
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  carol.start({"--peer", alice.endpoint()});
  dave.start({"--peer", alice.endpoint()});
  REQUIRE(wait_until(
      [&] { return online(alice, "bob") && online(alice, "carol") && online(alice, "dave"); }, 8s));
  for (const char* member : {"bob", "carol", "dave"}) {
    alice.sotto_ok({"add", member});
    alice.sotto_ok({"verify", member, "--confirm"});
  }

  // create --members: epoch 1 already lists them.
  const json ops =
      json::parse(alice.sotto_ok({"--json", "channel", "create", "ops", "--members", "bob,carol"}));
  CHECK(ops.value("epoch", uint64_t{0}) == 1);
  CHECK(member_fingerprints(ops) ==
        std::set<std::string>{alice.fingerprint(), bob.fingerprint(), carol.fingerprint()});

  // invite A B C: one epoch more, whatever their number.
  alice.sotto_ok({"channel", "create", "net"});
  const json before = channel_of(alice, "net");
  const json net = json::parse(alice.sotto_ok(
      {"--json", "channel", "invite", "net", "bob", "carol", dave.fingerprint().substr(0, 12)}));
  CHECK(net.value("epoch", uint64_t{0}) == before.value("epoch", uint64_t{0}) + 1);
  CHECK(net.value("members", json::array()).size() == 4);
  CHECK(net.value("security_code", "") != before.value("security_code", ""));

  // Refused lists: exit 2, one line naming the member, nothing changed anywhere.
  const auto channels = channels_summary(alice);
  struct Case {
    std::vector<std::string> args;
    const char* names;
  };
  for (const Case& c : std::vector<Case>{
           {{"channel", "invite", "ops", "dave", "dave"}, "dave"},
           {{"channel", "invite", "ops", "dave", "zed"}, "zed"},
           {{"channel", "invite", "ops", "dave", "alice"}, "alice"},
           {{"channel", "invite", "ops", "dave", "bob"}, "bob is already a member"},
           {{"channel", "create", "lobby", "--members", "bob,zed"}, "zed"},
       }) {
    INFO(c.args.back());
    auto result = alice.sotto(c.args);
    INFO("exit " << result.exit_code << ", stderr: " << result.err);
    CHECK(result.exit_code == 2);
    CHECK(one_line_error(result));
    CHECK(result.err.find(c.names) != std::string::npos);
  }
  // The control socket's form of the same: a "members" list; a list of anything but strings is
  // refused whole.
  json refused = alice.request(
      {{"cmd", "channel"}, {"action", "invite"}, {"name", "ops"}, {"members", {"dave", 7}}});
  CHECK(refused.value("ok", true) == false);
  CHECK(channels_summary(alice) == channels);

  json invited = alice.request(
      {{"cmd", "channel"}, {"action", "invite"}, {"name", "ops"}, {"members", {"dave"}}});
  REQUIRE(invited.value("ok", false));
  CHECK(invited["channel"].value("epoch", uint64_t{0}) == 2);

  // The members accept; the admin's text reaches each of them.
  for (const DaemonProfile* member : {&bob, &carol, &dave}) {
    member->accept_invitation(alice.fingerprint(), "ops");
  }
  const json at_alice = channel_of(alice, "ops");
  for (const DaemonProfile* member : {&bob, &carol, &dave}) {
    REQUIRE(wait_until([&] { return joined(*member, at_alice); }, 8s));
  }
  alice.sotto_ok({"send", "#ops", "alice to all"});
  REQUIRE(wait_until(
      [&] {
        return count_body(bob.history("#ops"), "alice to all") == 1 &&
               count_body(carol.history("#ops"), "alice to all") == 1 &&
               count_body(dave.history("#ops"), "alice to all") == 1;
      },
      10s));
}
