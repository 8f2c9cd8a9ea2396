// Attacks on mailboxes (issue 24; doc/security.md, threat matrix "Mailboxes"): a stranger who
// tries to drop frames at bob's mailbox or take what it holds for him; a mailbox that replays
// what it handed over, or hands bob a frame as someone else's; a node that is not bob's mailbox
// passing itself off as it; records naming a mailbox that their owner did not sign. Each is
// refused and counted, and what bob gets is still every one of alice's texts, once.
// (A full mailbox is in tests/integration/mailbox_test.cpp.)
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/mailbox_repo.h"
#include "src/core/account_internals.h"
#include "src/net/content.h"
#include "src/net/wire.h"
#include "tests/support/adversary.h"
#include "tests/support/approach.h"
#include "tests/support/mailbox_lab.h"
#include "tests/support/profiles.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using namespace sotto::test;

namespace {

Bytes frame_of(wire::Envelope envelope) {
  auto frame = net::encode_frame(std::move(envelope));
  REQUIRE(frame.is_ok());
  return std::move(frame).value();
}

Bytes forwarded_frame(const storage::HeldFrame& held, const std::string& from) {
  wire::Envelope envelope;
  auto* forwarded = envelope.mutable_forwarded();
  forwarded->set_from(from);
  forwarded->set_handle(static_cast<uint64_t>(held.handle));
  REQUIRE(forwarded->mutable_message()->ParseFromArray(held.message.data(),
                                                       static_cast<int>(held.message.size())));
  return frame_of(std::move(envelope));
}

// What the mailbox holds for `user`, read from its database (its node stopped).
std::vector<storage::HeldFrame> held_at(ProfileNode& mailbox, const std::string& user) {
  auto account = open_account(mailbox.profile_dir());
  auto held = storage::MailboxStore(core::AccountInternals::db(*account)).held(user, 0, 1000);
  REQUIRE(held.is_ok());
  return std::move(held).value();
}

// Alice, bob and bob's mailbox; bob away while alice sends `texts`, which the mailbox holds.
struct HeldForBob {
  ProfileNode mailbox{"mailbox"};
  ProfileNode alice{"alice"};
  ProfileNode bob{"bob"};
  std::string listen;
  std::vector<std::string> texts = numbered_texts("for bob", 5);

  HeldForBob() {
    mailbox.start(mailbox_options());
    listen = mailbox.endpoint();
    bob.start(loopback_with_peers({listen}));
    alice.start(loopback_with_peers({bob.endpoint()}));
    befriend_and_name(alice, bob, mailbox.fingerprint());
    bob.stop();
    REQUIRE(wait_until([&] { return !alice.sees_online(bob.fingerprint()); }, 10s));
    send_all(alice, bob.fingerprint(), texts);
    REQUIRE(wait_until(
        [&] {
          return in_state(alice, bob.fingerprint(), core::MessageState::kAtMailbox) == texts.size();
        },
        20s));
  }
  int64_t held() { return mailbox_user(mailbox.node(), bob.fingerprint())->held; }
  void bob_returns() {
    bob.start(loopback_with_peers({listen}));
    REQUIRE(wait_until(
        [&] { return received_from(bob, alice.fingerprint()).size() >= texts.size(); }, 20s));
    CHECK(received_from(bob, alice.fingerprint()) == texts);
  }
};

}  // namespace

TEST_CASE("mailbox attack: a stranger can neither deposit for bob nor take what is held for him",
          "[adversarial][mailbox]") {
  HeldForBob lab;
  HostileInsider mallory("mallory");
  approach(mallory, lab.mailbox);

  // A frame for bob: the mailbox cannot read it, so bob's list of who may write decides.
  wire::Envelope deposit;
  deposit.mutable_mailbox_deposit()->set_recipient(lab.bob.fingerprint());
  auto* message = deposit.mutable_mailbox_deposit()->mutable_message();
  message->set_type(2);
  message->set_body("not a signal message, and bob never heard of mallory");
  const Bytes id = random_bytes(16, 7);
  message->set_message_id(as_chars(id).data(), id.size());
  const uint64_t refused = lab.mailbox.counter("mailbox_deposit_refused");
  REQUIRE(mallory.send(frame_of(std::move(deposit))));
  REQUIRE(wait_until([&] { return lab.mailbox.counter("mailbox_deposit_refused") > refused; }, 5s));
  CHECK(lab.held() == 5);

  // Bob's frames by handle (row ids anyone could guess): only bob may take them.
  wire::Envelope taken;
  for (uint64_t handle = 1; handle <= 100; ++handle) {
    taken.mutable_mailbox_taken()->add_handles(handle);
  }
  REQUIRE(mallory.send(frame_of(std::move(taken))));
  REQUIRE(wait_until([&] { return lab.mailbox.counter("mailbox_taken_refused") >= 100; }, 5s));
  CHECK(lab.mailbox.counter("mailbox_taken") == 0);
  CHECK(lab.held() == 5);

  // Registering makes mallory a user of her own, empty mailbox: nothing of bob's goes to her.
  wire::Envelope reg;
  reg.mutable_mailbox_register();
  REQUIRE(mallory.send(frame_of(std::move(reg))));
  REQUIRE(wait_until(
      [&] { return mailbox_user(lab.mailbox.node(), mallory.fingerprint()).has_value(); }, 5s));
  CHECK(mailbox_user(lab.mailbox.node(), mallory.fingerprint())->held == 0);
  settled(mallory, lab.mailbox);
  CHECK(lab.mailbox.counter("mailbox_forwarded") == 0);
  CHECK(lab.held() == 5);

  lab.bob_returns();
}

TEST_CASE("mailbox attack: garbage, oversized and truncated mailbox frames are dropped, counted",
          "[adversarial][mailbox]") {
  HeldForBob lab;
  HostileInsider mallory("mallory");
  approach(mallory, lab.mailbox);
  auto refused = [&](const std::string& what, Bytes frame, const std::string& counter) {
    INFO(what << ", counted as " << counter);
    const uint64_t before = lab.mailbox.counter(counter);
    REQUIRE(mallory.send(frame));
    CHECK(wait_until([&] { return lab.mailbox.counter(counter) > before; }, 5s));
  };
  wire::Envelope many_senders;  // one more than a registration may name
  for (int i = 0; i <= 4096; ++i) {
    many_senders.mutable_mailbox_register()->add_senders(std::string(32, static_cast<char>(i)));
  }
  refused("a registration of 4,097 senders", frame_of(std::move(many_senders)),
          "mailbox_register_refused");
  wire::Envelope short_sender;
  short_sender.mutable_mailbox_register()->add_senders("short");
  refused("a sender of 5 bytes", frame_of(std::move(short_sender)), "mailbox_register_refused");
  wire::Envelope many_handles;
  for (uint64_t h = 0; h <= 1024; ++h) many_handles.mutable_mailbox_taken()->add_handles(h);
  refused("1,025 handles taken", frame_of(std::move(many_handles)), "mailbox_dropped_malformed");
  wire::Envelope bad_id;
  bad_id.mutable_mailbox_deposit()->set_recipient(lab.bob.fingerprint());
  bad_id.mutable_mailbox_deposit()->mutable_message()->set_type(2);
  bad_id.mutable_mailbox_deposit()->mutable_message()->set_body("x");
  bad_id.mutable_mailbox_deposit()->mutable_message()->set_message_id("abc");
  const Bytes deposit = frame_of(bad_id);
  refused("a deposit with a 3-byte id", deposit, "mailbox_dropped_malformed");
  bad_id.mutable_mailbox_deposit()->set_recipient("not a fingerprint");
  refused("a deposit for no one", frame_of(std::move(bad_id)), "mailbox_dropped_malformed");
  // The same frame cut short: its length says more than it holds. Shorter than a size bucket
  // it would not even be read.
  Bytes truncated = deposit;
  truncated[2] = 0x01;  // 256 and more bytes of envelope in a frame of 256
  refused("a truncated frame", truncated, "frame_dropped_length");
  refused("a frame of no bucket's size", Bytes(deposit.begin(), deposit.begin() + 12),
          "frame_dropped_size");
  Bytes garbage = random_bytes(256, 11);
  garbage[0] = 0x7f;
  refused("garbage", garbage, "frame_dropped_length");
  // Nothing of bob's moved, and the mailbox serves on: he gets alice's texts when back.
  CHECK(lab.held() == 5);
  lab.bob_returns();
}

TEST_CASE("mailbox attack: a mailbox replaying what it handed over gets each text archived once",
          "[adversarial][mailbox]") {
  HeldForBob lab;
  lab.mailbox.stop();
  const std::vector<storage::HeldFrame> held = held_at(lab.mailbox, lab.bob.fingerprint());
  REQUIRE(held.size() == lab.texts.size());
  lab.mailbox.start(mailbox_options(lab.listen));
  lab.bob_returns();
  lab.mailbox.stop();

  // Bob restarts (so he hears the insiders below afresh) with no mailbox to reach.
  lab.bob.stop();
  lab.bob.start(loopback_options());
  // Someone else handing bob those frames as if from his mailbox: refused unopened.
  HostileInsider mallory("mallory");
  approach(mallory, lab.bob);
  const uint64_t refused = lab.bob.counter("mailbox_forward_refused");
  REQUIRE(mallory.send(forwarded_frame(held[0], lab.alice.fingerprint())));
  REQUIRE(wait_until([&] { return lab.bob.counter("mailbox_forward_refused") > refused; }, 5s));

  // The mailbox itself (its keys, a hostile build) replays them all: each is alice's again,
  // a duplicate libsignal refuses to open twice, archived once.
  HostileInsider replayer(open_account(lab.mailbox.profile_dir()));
  approach(replayer, lab.bob);
  const uint64_t duplicates = lab.bob.counter("message_duplicates");
  for (const auto& frame : held) REQUIRE(replayer.send(forwarded_frame(frame, frame.sender)));
  REQUIRE(wait_until(
      [&] { return lab.bob.counter("message_duplicates") >= duplicates + held.size(); }, 5s));
  // ... and one passed off as someone else's (the mailbox's own): it opens under no session.
  const uint64_t unreadable = lab.bob.counter("mailbox_forward_unreadable");
  REQUIRE(replayer.send(forwarded_frame(held[1], replayer.fingerprint())));
  REQUIRE(
      wait_until([&] { return lab.bob.counter("mailbox_forward_unreadable") > unreadable; }, 5s));
  settled(replayer, lab.bob);
  CHECK(received_from(lab.bob, lab.alice.fingerprint()) == lab.texts);
}

TEST_CASE("mailbox attack: a record naming a mailbox counts only signed by its user, on the LAN",
          "[adversarial][mailbox]") {
  HeldForBob lab;
  // Bob's own keys (a hostile build of his node) sending alice records: unsigned, someone
  // else's, and one that would have her dial a host off the LAN.
  HostileInsider mallory("mallory");
  lab.alice.stop();  // to hear bob's keys afresh below
  lab.alice.start(loopback_options());
  {
    HostileInsider bob_keys(open_account(lab.bob.profile_dir()));
    approach(bob_keys, lab.alice);
    auto record_of = [&](core::Account& user, const std::string& endpoint, bool sign) {
      wire::MailboxRecord record;
      const Bytes& user_key = user.identity_key();
      record.set_user_key(as_chars(user_key).data(), user_key.size());
      const Bytes& mailbox_key = mallory.account().identity_key();
      record.set_mailbox_key(as_chars(mailbox_key).data(), mailbox_key.size());
      record.set_mailbox_transport(std::string(32, 'k'));
      record.set_endpoint(endpoint);
      record.set_serial(1000);
      Bytes signature(64, 0);
      if (sign) {
        auto signed_ =
            core::AccountInternals::signal(user).sign(net::mailbox_record_signing_input(record));
        REQUIRE(signed_.is_ok());
        signature = signed_.value();
      }
      record.set_signature(as_chars(signature).data(), signature.size());
      wire::Envelope envelope;
      *envelope.mutable_mailbox_record() = record;
      return frame_of(std::move(envelope));
    };
    const std::vector<std::pair<std::string, Bytes>> forged = {
        {"unsigned", record_of(bob_keys.account(), "tcp://127.0.0.1:9", false)},
        {"mallory's, from bob", record_of(mallory.account(), "tcp://127.0.0.1:9", true)},
        {"off the LAN", record_of(bob_keys.account(), "tcp://8.8.8.8:9", true)},
    };
    for (const auto& [what, frame] : forged) {
      INFO("a record " << what);
      const uint64_t refused = lab.alice.counter("mailbox_record_refused");
      REQUIRE(bob_keys.send(frame));
      CHECK(wait_until([&] { return lab.alice.counter("mailbox_record_refused") > refused; }, 5s));
    }
  }  // bob's keys back to bob
  // Bob's true mailbox still holds alice's texts, and he gets them there.
  CHECK(lab.held() == 5);
  lab.bob.start(loopback_with_peers({lab.listen, lab.alice.endpoint()}));
  REQUIRE(
      wait_until([&] { return received_from(lab.bob, lab.alice.fingerprint()).size() >= 5; }, 20s));
  CHECK(received_from(lab.bob, lab.alice.fingerprint()) == lab.texts);
}
