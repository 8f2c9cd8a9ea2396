// Mailboxes (issue 24, doc/guide.md "Mailboxes"): bob names an always-on node as his mailbox;
// while bob is away, alice's texts wait there as the ciphertexts she stored, not in her outbox
// alone, so bob gets them on his return even though alice has gone. Real nodes on loopback, a
// real mailbox process killed mid-handover, and the mailbox's own database read with its key.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/support/crash_points.h"
#include "tests/support/daemon.h"
#include "tests/support/mailbox_lab.h"
#include "tests/support/profile_node.h"
#include "tests/support/sqlcipher_pages.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using namespace sotto::test;

TEST_CASE("mailbox: alice's 100 texts wait at bob's mailbox and reach him in order, exactly once",
          "[mailbox][integration]") {
  ProfileNode mailbox("mailbox");
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  mailbox.start(mailbox_options());
  bob.start(test::loopback_with_peers({mailbox.endpoint()}));
  alice.start(test::loopback_with_peers({bob.endpoint()}));
  befriend_and_name(alice, bob, mailbox.fingerprint());

  bob.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(bob.fingerprint()); }, 10s));
  std::mt19937_64 rng(std::random_device{}());
  const std::string canary = "canary-" + std::to_string(rng()) + "-mailbox";
  const auto texts = numbered_texts(canary, 100);
  send_all(alice, bob.fingerprint(), texts);
  // Each shows "at mailbox" once the mailbox committed it.
  REQUIRE(wait_until(
      [&] { return in_state(alice, bob.fingerprint(), core::MessageState::kAtMailbox) == 100; },
      20s));
  auto held = mailbox_user(mailbox.node(), bob.fingerprint());
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
  REQUIRE(
      wait_until([&] { return mailbox_user(mailbox.node(), bob.fingerprint())->held == 0; }, 5s));
  CHECK(bob.counter("mailbox_forwards_received") >= 100);

  // Alice is back: bob's receipts tell her every text was delivered.
  alice.start(test::loopback_with_peers({bob.endpoint()}));
  REQUIRE(wait_until(
      [&] { return in_state(alice, bob.fingerprint(), core::MessageState::kDelivered) == 100; },
      20s));
  CHECK(received_from(bob, alice.fingerprint()) == texts);
}

TEST_CASE("mailbox attack: a mailbox full for bob leaves alice's texts in her outbox; she is told",
          "[mailbox][adversarial][integration]") {
  ProfileNode mailbox("mailbox");
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  core::MailboxLimits small;
  small.quota_bytes = 2000;  // a few texts
  mailbox.start(mailbox_options("", small));
  bob.start(test::loopback_with_peers({mailbox.endpoint()}));
  alice.start(test::loopback_with_peers({bob.endpoint()}));
  befriend_and_name(alice, bob, mailbox.fingerprint());
  auto events = alice.node().subscribe();

  bob.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(bob.fingerprint()); }, 10s));
  const auto texts = numbered_texts(std::string(200, 'x'), 30);
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
  const auto texts = numbered_texts("handover", 100);
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

TEST_CASE("mailbox: disappearing messages expire at the mailbox too, unfetched",
          "[mailbox][integration]") {
  ProfileNode mailbox("mailbox");
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  mailbox.start(mailbox_options());
  bob.start(loopback_with_peers({mailbox.endpoint()}));
  alice.start(loopback_with_peers({bob.endpoint()}));
  befriend_and_name(alice, bob, mailbox.fingerprint());
  REQUIRE(alice.node().set_expiry(bob.fingerprint(), 3000).is_ok());
  REQUIRE(wait_until([&] { return alice.counter("outbox_waiting") == 0; }, 5s));  // bob has it
  // Her texts must reach the mailbox before her own copies expire, so she is linked to it first
  // (bob's record made her dial it; that may still be under way).
  REQUIRE(wait_until([&] { return alice.sees_online(mailbox.fingerprint()); }, 10s));

  bob.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(bob.fingerprint()); }, 10s));
  const auto texts = numbered_texts("gone by morning", 3);
  send_all(alice, bob.fingerprint(), texts);
  const bool all_held =
      wait_until([&] { return mailbox.counter("mailbox_deposits_held") >= texts.size(); }, 10s);
  INFO("alice: deposits sent " << alice.counter("mailbox_deposits_sent") << ", messages expired "
                               << alice.counter("messages_expired") << "; mailbox: refused "
                               << mailbox.counter("mailbox_deposit_refused"));
  REQUIRE(all_held);
  // Three seconds after alice sent them, the mailbox holds none of them any more.
  REQUIRE(wait_until([&] { return mailbox.counter("mailbox_expired") >= texts.size(); }, 10s));
  CHECK(mailbox_user(mailbox.node(), bob.fingerprint())->held == 0);
  // Told they are gone, alice does not deposit them again for the moment her own copies live on
  // (her expiry looks once a second): once hers are gone too, each was held once and is held no
  // more.
  REQUIRE(wait_until([&] { return alice.counter("messages_expired") >= texts.size(); }, 10s));
  CHECK(mailbox.counter("mailbox_deposits_held") == texts.size());
  CHECK(mailbox_user(mailbox.node(), bob.fingerprint())->held == 0);
  CHECK(mailbox.counter("mailbox_forwarded") == 0);
}

TEST_CASE("mailbox: the mailbox setting is used as soon as that node is online",
          "[mailbox][integration]") {
  ProfileNode mailbox("mailbox");
  ProfileNode bob("bob");
  mailbox.start(mailbox_options());
  core::NodeOptions options = loopback_with_peers({mailbox.endpoint()});
  options.mailbox = "mailbox";  // the name it goes by: its Hello gives bob a digest of it
  bob.start(std::move(options));
  REQUIRE(wait_until(
      [&] {
        auto info = bob.node().mailbox();
        return info.is_ok() && info.value().state == "accepted";
      },
      10s));
  CHECK(bob.node().mailbox().value().mailbox == mailbox.fingerprint());
  CHECK(mailbox_user(mailbox.node(), bob.fingerprint()).has_value());
}
