// Disappearing messages (issue 8) between real in-process nodes: set by one side of a 1:1
// conversation or by a channel's admin, applied on every member's node, written into the history
// as an audit line; expired text and voice clips are gone from every member's archive, and from
// every byte of its database and WAL, decrypted (old page images, free pages, the search index).
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "sotto/core/node.h"
#include "tests/support/channel_lab.h"
#include "tests/support/profile_node.h"
#include "tests/support/sqlcipher_pages.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::ChannelLab;
using test::wait_until;

namespace {

bool has_body(test::ProfileNode& node, const std::string& to, const std::string& body) {
  auto history = node.history(to);
  return std::any_of(history.begin(), history.end(),
                     [&](const auto& m) { return m.body.find(body) != std::string::npos; });
}

// How often `word` occurs anywhere in the node's database files, decrypted. A word that must be
// there (`control`) shows that the files were read and decrypted at all.
size_t in_database_bytes(test::ProfileNode& node, const std::string& word,
                         const std::string& control) {
  const Bytes key = node.database_key();
  const auto main = test::decrypt_database_file(node.database_path(), key);
  REQUIRE(main.header_ok);
  CHECK(test::occurrences_in_database(node.database_path(), key, control) > 0);
  return test::occurrences_in_database(node.database_path(), key, word);
}

}  // namespace

TEST_CASE(
    "disappearing messages: either side of a conversation, or a channel's admin, sets them; "
    "expired messages vanish from every member's archive",
    "[archive][integration]") {
  ChannelLab lab({"alice", "bob", "carol"});
  REQUIRE(wait_until([&] { return lab.all_online(); }, 8s));
  lab.add_verified("alice", {"bob", "carol"});
  core::Node& alice = lab["alice"].node();

  // 1:1: a message, then alice turns on 1 s; both archives lose it.
  REQUIRE(alice.send_text("bob", "soon gone Quokka7731").is_ok());
  REQUIRE(wait_until([&] { return has_body(lab["bob"], "", "soon gone Quokka7731"); }, 5s));
  auto set = alice.set_expiry("bob", 1000);
  INFO(set.status().message());
  REQUIRE(set.is_ok());
  CHECK(set.value().kind == core::MessageKind::kSystem);
  CHECK(set.value().body.find("1 s") != std::string::npos);
  REQUIRE(
      wait_until([&] { return has_body(lab["bob"], "", "set disappearing messages to 1 s"); }, 5s));
  REQUIRE(wait_until(
      [&] {
        return !has_body(lab["alice"], "", "soon gone Quokka7731") &&
               !has_body(lab["bob"], "", "soon gone Quokka7731");
      },
      6s));
  CHECK(lab["bob"].counter("messages_expired") >= 1);
  // Nothing of it in the files either: the search index had its words, the WAL and the main
  // file had page images holding it.
  REQUIRE(alice.send_text("bob", "control Kiwi0001").is_ok());
  REQUIRE(wait_until([&] { return has_body(lab["bob"], "", "control Kiwi0001"); }, 5s));
  for (const char* name : {"alice", "bob"}) {
    INFO(name);
    CHECK(in_database_bytes(lab[name], "Quokka7731", "Kiwi0001") == 0);
  }
  // Off again (from bob's side this time): new messages stay.
  REQUIRE(lab["bob"].node().set_expiry("alice", 0).is_ok());
  REQUIRE(wait_until([&] { return has_body(lab["alice"], "", "turned disappearing messages off"); },
                     5s));
  REQUIRE(alice.send_text("bob", "here to stay Kiwi8812").is_ok());
  REQUIRE(wait_until([&] { return has_body(lab["bob"], "", "here to stay Kiwi8812"); }, 5s));
  // It stays: checked below, once a sweep has run that would have taken it.

  // A channel: only the admin decides.
  REQUIRE(alice.create_channel("ops").is_ok());
  REQUIRE(alice.invite_to_channel("ops", "bob").is_ok());
  REQUIRE(alice.invite_to_channel("ops", "carol").is_ok());
  for (const char* member : {"bob", "carol"}) lab.accept_invitation(member, "alice", "ops");
  REQUIRE(wait_until(
      [&] {
        auto b = test::channel_of(lab["bob"], "ops");
        auto c = test::channel_of(lab["carol"], "ops");
        return b && c && b->members.size() == 3 && c->members.size() == 3;
      },
      8s));
  auto refused = lab["bob"].node().set_expiry("#ops", 3600 * 1000);
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  REQUIRE(wait_until(
      [&] { return lab["bob"].node().send_text("#ops", "channel secret Wombat5512").is_ok(); },
      5s));
  REQUIRE(wait_until(
      [&] {
        return has_body(lab["alice"], "#ops", "channel secret Wombat5512") &&
               has_body(lab["carol"], "#ops", "channel secret Wombat5512");
      },
      8s));
  REQUIRE(alice.set_expiry("#ops", 1000).is_ok());
  REQUIRE(wait_until(
      [&] {
        for (const char* name : {"alice", "bob", "carol"}) {
          auto channel = test::channel_of(lab[name], "ops");
          if (!channel || channel->expire_ms != 1000) return false;
        }
        return true;
      },
      5s));
  REQUIRE(wait_until(
      [&] {
        for (const char* name : {"alice", "bob", "carol"}) {
          if (has_body(lab[name], "#ops", "channel secret Wombat5512")) return false;
        }
        return true;
      },
      6s));
  for (const char* name : {"alice", "bob", "carol"}) {
    INFO(name);
    CHECK(in_database_bytes(lab[name], "Wombat5512", "alice") == 0);  // a name all of them keep
  }
  // The channel text came after "here to stay" and is gone from alice's and bob's archives, more
  // than 1 s after it came: each node has swept every conversation with a setting since, and
  // a 1:1 setting of 1 s still in force would have taken the older text with it.
  CHECK(has_body(lab["alice"], "", "here to stay Kiwi8812"));
  CHECK(has_body(lab["bob"], "", "here to stay Kiwi8812"));
}
