// Mailboxes (issue 24, doc/guide.md "Mailboxes"): bob names an always-on node as his mailbox;
// while bob is away, alice's texts wait there as the ciphertexts she stored, not in her outbox
// alone, so bob gets them on his return even though alice has gone. Real nodes on loopback, a
// real mailbox process killed mid-handover, and the mailbox's own database read with its key.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/support/crash_points.h"
#include "tests/support/daemon.h"
#include "tests/support/profile_node.h"
#include "tests/support/sqlcipher_pages.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::ProfileNode;
using test::wait_until;

namespace {

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, " %03d", i);
    out.push_back(prefix + suffix);
  }
  return out;
}

// The bodies `node` archived from `from` (its 1:1 conversation), in archive order.
std::vector<std::string> received_from(ProfileNode& node, const std::string& from) {
  std::vector<std::string> out;
  for (const auto& m : node.history(from)) {
    if (!m.outgoing && m.kind == core::MessageKind::kText) out.push_back(m.body);
  }
  return out;
}

size_t in_state(ProfileNode& node, const std::string& to, core::MessageState state) {
  const auto history = node.history(to);
  return static_cast<size_t>(std::count_if(history.begin(), history.end(), [&](const auto& m) {
    return m.outgoing && m.state == state;
  }));
}

void send_all(ProfileNode& from, const std::string& to, const std::vector<std::string>& texts) {
  std::vector<std::future<Result<core::MessageInfo>>> sends;
  for (const auto& text : texts) sends.push_back(from.node().send_text_async(to, text));
  for (auto& sent : sends) REQUIRE(sent.get().is_ok());
}

std::optional<core::MailboxUser> user_of(core::Node& mailbox, const std::string& fingerprint) {
  auto info = mailbox.mailbox();
  REQUIRE(info.is_ok());
  for (const auto& u : info.value().users) {
    if (u.fingerprint == fingerprint) return u;
  }
  return std::nullopt;
}

// Alice and bob are contacts; bob uses `mailbox_fingerprint` as his mailbox, and alice has his
// signed record naming it. Alice knows only bob's address: the mailbox's comes in the record.
void befriend_and_name(ProfileNode& alice, ProfileNode& bob,
                       const std::string& mailbox_fingerprint) {
  REQUIRE(wait_until([&] { return alice.sees_online(bob.fingerprint()); }, 5s));
  REQUIRE(alice.node().add_contact(bob.fingerprint()).is_ok());
  REQUIRE(wait_until([&] { return bob.sees_online(alice.fingerprint()); }, 5s));
  REQUIRE(bob.node().add_contact(alice.fingerprint()).is_ok());
  REQUIRE(wait_until([&] { return bob.sees_online(mailbox_fingerprint); }, 5s));
  auto used = bob.node().use_mailbox(mailbox_fingerprint.substr(0, 16));
  INFO(used.status().message());
  REQUIRE(used.is_ok());
  CHECK(used.value().mailbox == mailbox_fingerprint);
  CHECK(used.value().state == "accepted");
  REQUIRE(wait_until([&] { return alice.counter("mailbox_records_received") >= 1; }, 5s));
}

}  // namespace

TEST_CASE("mailbox: alice's 100 texts wait at bob's mailbox and reach him in order, exactly once",
          "[mailbox][integration]") {
  ProfileNode mailbox("mailbox");
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  core::NodeOptions serving = test::loopback_options();
  serving.serve_mailbox = true;
  mailbox.start(std::move(serving));
  bob.start(test::loopback_with_peers({mailbox.endpoint()}));
  alice.start(test::loopback_with_peers({bob.endpoint()}));
  befriend_and_name(alice, bob, mailbox.fingerprint());

  bob.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(bob.fingerprint()); }, 10s));
  std::mt19937_64 rng(std::random_device{}());
  const std::string canary = "canary-" + std::to_string(rng()) + "-mailbox";
  const auto texts = numbered(canary, 100);
  send_all(alice, bob.fingerprint(), texts);
  // Each shows "at mailbox" once the mailbox committed it.
  REQUIRE(wait_until(
      [&] { return in_state(alice, bob.fingerprint(), core::MessageState::kAtMailbox) == 100; },
      20s));
  auto held = user_of(mailbox.node(), bob.fingerprint());
  REQUIRE(held);
  CHECK(held->held == 100);
  CHECK(held->senders >= 1);
  // The mailbox holds ciphertext only: read with its own key, its database has no text.
  CHECK(test::occurrences_in_database(mailbox.database_path(), mailbox.database_key(), canary) ==
        0);

  alice.stop();
  bob.start(test::loopback_with_peers({mailbox.endpoint()}));
  REQUIRE(wait_until([&] { return received_from(bob, alice.fingerprint()).size() >= 100; }, 20s));
  CHECK(received_from(bob, alice.fingerprint()) == texts);  // all, in alice's order, once
  REQUIRE(wait_until([&] { return user_of(mailbox.node(), bob.fingerprint())->held == 0; }, 5s));
  CHECK(bob.counter("mailbox_forwards_received") >= 100);

  // Alice is back: bob's receipts tell her every text was delivered.
  alice.start(test::loopback_with_peers({bob.endpoint()}));
  REQUIRE(wait_until(
      [&] { return in_state(alice, bob.fingerprint(), core::MessageState::kDelivered) == 100; },
      20s));
  CHECK(received_from(bob, alice.fingerprint()) == texts);
}

TEST_CASE("mailbox: a mailbox full for bob leaves alice's texts in her outbox, and she is told",
          "[mailbox][integration]") {
  ProfileNode mailbox("mailbox");
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  core::NodeOptions serving = test::loopback_options();
  serving.serve_mailbox = true;
  serving.mailbox_limits.quota_bytes = 2000;  // a few texts
  mailbox.start(std::move(serving));
  bob.start(test::loopback_with_peers({mailbox.endpoint()}));
  alice.start(test::loopback_with_peers({bob.endpoint()}));
  befriend_and_name(alice, bob, mailbox.fingerprint());
  auto events = alice.node().subscribe();

  bob.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(bob.fingerprint()); }, 10s));
  const auto texts = numbered(std::string(200, 'x'), 30);
  send_all(alice, bob.fingerprint(), texts);
  REQUIRE(wait_until([&] { return mailbox.counter("mailbox_deposits_over_quota") > 0; }, 20s));
  bool told = false;
  REQUIRE(wait_until(
      [&] {
        while (auto event = events->pop()) {
          if (const auto* alert = std::get_if<core::AlertEvent>(&event->body)) {
            told = told || alert->kind == core::AlertKind::kMailboxFull;
          }
        }
        return told;
      },
      10s));
  // What the mailbox could not take waits in alice's outbox, not "at mailbox".
  const size_t at_mailbox = in_state(alice, bob.fingerprint(), core::MessageState::kAtMailbox);
  CHECK(at_mailbox > 0);
  CHECK(at_mailbox < texts.size());

  // Bob back while alice is online: what the mailbox held and what alice kept both arrive.
  bob.start(test::loopback_with_peers({mailbox.endpoint(), alice.endpoint()}));
  REQUIRE(wait_until([&] { return received_from(bob, alice.fingerprint()).size() >= 30; }, 20s));
  CHECK(received_from(bob, alice.fingerprint()) == texts);
  REQUIRE(wait_until(
      [&] { return in_state(alice, bob.fingerprint(), core::MessageState::kDelivered) == 30; },
      20s));
}

TEST_CASE("mailbox: kill -9 of the mailbox mid-handover loses nothing, and nothing comes twice",
          "[mailbox][integration][crash]") {
  test::DaemonProfile mailbox("mailbox");
  // The mailbox dies on the 40th frame it hands bob, before bob's "taken" for any of them.
  mailbox.set_launcher(test::crash_launcher(CrashPoint::kMailboxForwarded, 40));
  mailbox.start({"--mailbox"});
  const std::string listen = mailbox.endpoint();
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  bob.start(test::loopback_with_peers({listen}));
  alice.start(test::loopback_with_peers({bob.endpoint()}));
  befriend_and_name(alice, bob, mailbox.fingerprint());

  bob.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(bob.fingerprint()); }, 10s));
  const auto texts = numbered("handover", 100);
  send_all(alice, bob.fingerprint(), texts);
  REQUIRE(wait_until(
      [&] { return in_state(alice, bob.fingerprint(), core::MessageState::kAtMailbox) == 100; },
      20s));
  alice.stop();

  bob.start(test::loopback_with_peers({listen}));
  REQUIRE(mailbox.wait_for_output(test::crash_point_line(CrashPoint::kMailboxForwarded), 15000));
  CHECK(mailbox.stop() == 128 + SIGKILL);
  const size_t before_restart = received_from(bob, alice.fingerprint()).size();
  CHECK(before_restart < texts.size());

  mailbox.set_launcher({});
  mailbox.start({"--mailbox"}, listen);
  REQUIRE(wait_until([&] { return received_from(bob, alice.fingerprint()).size() >= 100; }, 30s));
  CHECK(received_from(bob, alice.fingerprint()) == texts);
  REQUIRE(wait_until(
      [&] {
        const auto status = mailbox.request({{"cmd", "mailbox"}, {"action", "status"}});
        for (const auto& u : status["mailbox"]["users"]) {
          if (u.value("fingerprint", "") == bob.fingerprint()) return u.value("held", -1) == 0;
        }
        return false;
      },
      10s));
}
