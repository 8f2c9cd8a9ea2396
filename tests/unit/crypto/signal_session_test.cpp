#include <catch2/catch.hpp>

#include "sotto/crypto/held_signal_state.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/database.h"
#include "sotto/storage/signal_repo.h"
#include "src/core/account_internals.h"
#include "tests/support/profiles.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using sotto::test::TempDir;

namespace {

std::string text_of(const Bytes& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// Alice builds a session from Bob's bundle; both sides persist in their own profile.
struct Pair {
  TempDir tmp;
  std::unique_ptr<core::Account> alice = test::create_account(tmp / "alice", "alice");
  std::unique_ptr<core::Account> bob = test::create_account(tmp / "bob", "bob");

  void connect() {
    auto bundle = core::AccountInternals::signal(*bob).bundle();
    REQUIRE(bundle.is_ok());
    REQUIRE(core::AccountInternals::signal(*alice)
                .process_bundle(bob->fingerprint(), bundle.value())
                .is_ok());
  }
  void reopen() {
    alice.reset();
    bob.reset();
    alice = test::open_account(tmp / "alice");
    bob = test::open_account(tmp / "bob");
  }
};

crypto::Ciphertext send(core::Account& from, core::Account& to, const std::string& text) {
  auto ciphertext = core::AccountInternals::signal(from).encrypt(to.fingerprint(), as_bytes(text));
  REQUIRE(ciphertext.is_ok());
  return std::move(ciphertext).value();
}

std::string receive(core::Account& at, core::Account& from, const crypto::Ciphertext& c) {
  auto plaintext = core::AccountInternals::signal(at).decrypt(from.fingerprint(), c);
  INFO(plaintext.status().message());
  REQUIRE(plaintext.is_ok());
  return text_of(plaintext.value());
}

}  // namespace

TEST_CASE("two profiles exchange messages both ways and continue after both are reopened",
          "[crypto][signal]") {
  Pair p;
  p.connect();
  auto first = send(*p.alice, *p.bob, "hello bob");
  CHECK(first.type == crypto::Ciphertext::Type::kPreKey);
  CHECK(text_of(first.bytes).find("hello bob") == std::string::npos);
  CHECK(receive(*p.bob, *p.alice, first) == "hello bob");
  CHECK(receive(*p.alice, *p.bob, send(*p.bob, *p.alice, "hi alice")) == "hi alice");

  p.reopen();
  for (int round = 0; round < 3; ++round) {
    auto to_bob = send(*p.alice, *p.bob, "after restart " + std::to_string(round));
    CHECK(to_bob.type == crypto::Ciphertext::Type::kWhisper);
    CHECK(receive(*p.bob, *p.alice, to_bob) == "after restart " + std::to_string(round));
    CHECK(receive(*p.alice, *p.bob, send(*p.bob, *p.alice, "ack")) == "ack");
  }
}

TEST_CASE("encrypting for an address without a session is refused as not found",
          "[crypto][signal]") {
  Pair p;
  auto c =
      core::AccountInternals::signal(*p.alice).encrypt(p.bob->fingerprint(), as_bytes("hello?"));
  REQUIRE_FALSE(c.is_ok());
  CHECK(c.status().code() == StatusCode::kNotFound);
  CHECK_FALSE(core::AccountInternals::signal(*p.alice).has_session(p.bob->fingerprint()).value());
}

TEST_CASE("a message decrypted once is reported as a duplicate the second time",
          "[crypto][signal]") {
  Pair p;
  p.connect();
  auto c = send(*p.alice, *p.bob, "once");
  CHECK(receive(*p.bob, *p.alice, c) == "once");
  auto again = core::AccountInternals::signal(*p.bob).decrypt(p.alice->fingerprint(), c);
  REQUIRE_FALSE(again.is_ok());
  CHECK(crypto::is_duplicate(again.status()));
}

TEST_CASE("a decrypt rolled back with its transaction can be decrypted again", "[crypto][signal]") {
  Pair p;
  p.connect();
  auto c = send(*p.alice, *p.bob, "crash before commit");
  {
    storage::Transaction tx(core::AccountInternals::db(*p.bob));
    REQUIRE(tx.begin_status().is_ok());
    CHECK(receive(*p.bob, *p.alice, c) == "crash before commit");
    // no commit: the ratchet step is rolled back, as after a crash
  }
  CHECK(receive(*p.bob, *p.alice, c) == "crash before commit");
}

TEST_CASE("a tampered ciphertext is refused", "[crypto][signal]") {
  Pair p;
  p.connect();
  CHECK(receive(*p.bob, *p.alice, send(*p.alice, *p.bob, "warm up")) == "warm up");
  CHECK(receive(*p.alice, *p.bob, send(*p.bob, *p.alice, "reply")) == "reply");
  auto c = send(*p.alice, *p.bob, "do not touch");
  for (size_t i = 0; i < c.bytes.size(); ++i) {
    auto tampered = c;
    tampered.bytes[i] ^= 0x01;
    INFO("byte " << i);
    CHECK_FALSE(
        core::AccountInternals::signal(*p.bob).decrypt(p.alice->fingerprint(), tampered).is_ok());
  }
  CHECK(receive(*p.bob, *p.alice, c) == "do not touch");
}

TEST_CASE("a bundle without a one-time pre-key or with a bad signature is refused",
          "[crypto][signal]") {
  Pair p;
  auto bundle = core::AccountInternals::signal(*p.bob).bundle();
  REQUIRE(bundle.is_ok());
  SECTION("no one-time pre-key") {
    auto without = bundle.value();
    without.pre_key.clear();
    auto status =
        core::AccountInternals::signal(*p.alice).process_bundle(p.bob->fingerprint(), without);
    CHECK(status.code() == StatusCode::kInvalidArgument);
  }
  SECTION("signed pre-key signature broken") {
    auto forged = bundle.value();
    forged.signed_pre_key_signature[5] ^= 0x40;
    auto status =
        core::AccountInternals::signal(*p.alice).process_bundle(p.bob->fingerprint(), forged);
    CHECK(status.code() == StatusCode::kInvalidArgument);
  }
  SECTION("signed pre-key swapped for another key") {
    auto forged = bundle.value();
    forged.signed_pre_key = forged.pre_key;
    CHECK_FALSE(core::AccountInternals::signal(*p.alice)
                    .process_bundle(p.bob->fingerprint(), forged)
                    .is_ok());
  }
  CHECK_FALSE(core::AccountInternals::signal(*p.alice).has_session(p.bob->fingerprint()).value());
}

TEST_CASE("a changed identity key for a known address is refused, never silently accepted",
          "[crypto][signal]") {
  Pair p;
  p.connect();
  TempDir other;
  auto mallory = test::create_account(other / "mallory", "mallory");
  auto bundle = core::AccountInternals::signal(*mallory).bundle();
  REQUIRE(bundle.is_ok());
  // Mallory's bundle presented under Bob's address.
  auto status =
      core::AccountInternals::signal(*p.alice).process_bundle(p.bob->fingerprint(), bundle.value());
  CHECK(status.code() == StatusCode::kUntrusted);
  auto identity =
      storage::SignalRepo(core::AccountInternals::db(*p.alice)).load_identity(p.bob->fingerprint());
  REQUIRE(identity.is_ok());
  REQUIRE(identity.value().has_value());
  CHECK(identity.value()->trusted_key == p.bob->identity_key());
  // Mallory's key does not even hash to Bob's address: refused before it is kept as an offer.
  CHECK(identity.value()->offered_key.empty());
  // The session with the real Bob still works.
  CHECK(receive(*p.bob, *p.alice, send(*p.alice, *p.bob, "still bob?")) == "still bob?");
}

TEST_CASE("one-time pre-keys are handed out once each, deleted when used, and replenished",
          "[crypto][signal]") {
  Pair p;
  storage::SignalRepo bob_keys(core::AccountInternals::db(*p.bob));
  REQUIRE(bob_keys.count_pre_keys().value() == 100);
  auto first = core::AccountInternals::signal(*p.bob).bundle();
  auto second = core::AccountInternals::signal(*p.bob).bundle();
  REQUIRE(first.is_ok());
  REQUIRE(second.is_ok());
  CHECK(first.value().pre_key_id != second.value().pre_key_id);

  REQUIRE(core::AccountInternals::signal(*p.alice)
              .process_bundle(p.bob->fingerprint(), first.value())
              .is_ok());
  receive(*p.bob, *p.alice, send(*p.alice, *p.bob, "consumes a pre-key"));
  CHECK(bob_keys.count_pre_keys().value() == 99);
  CHECK_FALSE(bob_keys.contains_pre_key(first.value().pre_key_id).value());

  const std::vector<uint32_t> ids = bob_keys.pre_key_ids().value();
  for (uint32_t id : ids) {
    if (bob_keys.count_pre_keys().value() <= 19) break;
    REQUIRE(bob_keys.remove_pre_key(id).is_ok());
  }
  auto added = core::AccountInternals::signal(*p.bob).replenish_pre_keys();
  REQUIRE(added.is_ok());
  CHECK(added.value() == 81);
  CHECK(bob_keys.count_pre_keys().value() == 100);
  CHECK(core::AccountInternals::signal(*p.bob).replenish_pre_keys().value() == 0);
}

TEST_CASE("both sides compute the same 60-digit safety number", "[crypto][signal]") {
  Pair p;
  auto at_alice = core::AccountInternals::signal(*p.alice).safety_number(
      p.alice->fingerprint(), p.bob->fingerprint(), p.bob->identity_key());
  auto at_bob = core::AccountInternals::signal(*p.bob).safety_number(
      p.bob->fingerprint(), p.alice->fingerprint(), p.alice->identity_key());
  REQUIRE(at_alice.is_ok());
  REQUIRE(at_bob.is_ok());
  CHECK(at_alice.value() == at_bob.value());
  const std::string& number = at_alice.value();
  REQUIRE(number.size() == 12 * 5 + 11);
  for (size_t i = 0; i < number.size(); ++i) {
    if (i % 6 == 5) {
      CHECK(number[i] == ' ');
    } else {
      CHECK(std::isdigit(static_cast<unsigned char>(number[i])));
    }
  }
  TempDir other;
  auto mallory = test::create_account(other / "m", "mallory");
  auto with_mallory = core::AccountInternals::signal(*p.alice).safety_number(
      p.alice->fingerprint(), p.bob->fingerprint(), mallory->identity_key());
  CHECK(with_mallory.value() != at_alice.value());
}

TEST_CASE("the transport key is bound to the identity by a signature that verifies",
          "[crypto][identity]") {
  TempDir tmp;
  auto alice = test::create_account(tmp / "a", "alice");
  const Bytes message = core::transport_binding_message(alice->transport_public());
  CHECK(alice->transport_public().size() == 32);
  CHECK(crypto::SignalEngine::verify(alice->identity_key(), message, alice->transport_signature()));
  Bytes other_key = alice->transport_public();
  other_key[0] ^= 1;
  CHECK_FALSE(crypto::SignalEngine::verify(alice->identity_key(),
                                           core::transport_binding_message(other_key),
                                           alice->transport_signature()));
}

TEST_CASE("reopening a profile gives the same identity", "[core][account]") {
  TempDir tmp;
  std::string fingerprint, transport;
  Bytes identity_key;
  {
    auto alice = test::create_account(tmp / "a", "alice");
    fingerprint = alice->fingerprint();
    identity_key = alice->identity_key();
    transport = to_hex(alice->transport_public());
    CHECK(fingerprint == crypto::fingerprint_of(identity_key));
    CHECK(fingerprint.size() == 64);
  }
  auto again = test::open_account(tmp / "a");
  CHECK(again->name() == "alice");
  CHECK(again->fingerprint() == fingerprint);
  CHECK(again->identity_key() == identity_key);
  CHECK(to_hex(again->transport_public()) == transport);
}

TEST_CASE("names that are empty, too long or contain control characters are refused",
          "[core][account]") {
  TempDir tmp;
  for (const std::string& name : {std::string(), std::string(65, 'x'), std::string("a\nb")}) {
    auto created = core::Account::create(tmp / "p", test::passphrase("pw"), name,
                                         storage::KdfParams::interactive());
    REQUIRE_FALSE(created.is_ok());
    CHECK(created.status().code() == StatusCode::kInvalidArgument);
  }
  auto unicode = core::Account::create(tmp / "q", test::passphrase("pw"), "Zoë Ødegård",
                                       storage::KdfParams::interactive());
  CHECK(unicode.is_ok());
}

namespace {

// Bob's stored session with Alice, as the database holds it.
Bytes stored_session(Pair& p) {
  auto blob = storage::SignalRepo(core::AccountInternals::db(*p.bob))
                  .load_session(p.alice->fingerprint(), 1);
  REQUIRE(blob.is_ok());
  REQUIRE(blob.value());
  return blob.value()->record;
}

}  // namespace

TEST_CASE("held ratchet writes reach the database only on release, and a dropped one is undone",
          "[crypto][signal]") {
  Pair p;
  p.connect();
  CHECK(receive(*p.bob, *p.alice, send(*p.alice, *p.bob, "first")) == "first");
  auto second = send(*p.alice, *p.bob, "second");
  auto third = send(*p.alice, *p.bob, "third");
  const Bytes before = stored_session(p);
  crypto::HeldSignalState& held = core::AccountInternals::held_signal(*p.bob);

  held.hold();
  CHECK(receive(*p.bob, *p.alice, second) == "second");
  held.drop_item();  // refused after decryption: the ratchet step goes with it
  CHECK(receive(*p.bob, *p.alice, second) == "second");
  held.keep_item();
  CHECK(receive(*p.bob, *p.alice, third) == "third");
  held.keep_item();
  CHECK(stored_session(p) == before);  // still held
  auto again = core::AccountInternals::signal(*p.bob).decrypt(p.alice->fingerprint(), second);
  CHECK(crypto::is_duplicate(again.status()));  // but the held state is what decrypts

  REQUIRE(held.release().is_ok());
  CHECK_FALSE(held.holding());
  CHECK(stored_session(p) != before);
  p.reopen();
  CHECK(crypto::is_duplicate(
      core::AccountInternals::signal(*p.bob).decrypt(p.alice->fingerprint(), third).status()));
}

TEST_CASE("discarded ratchet writes never reach the database", "[crypto][signal]") {
  Pair p;
  p.connect();
  CHECK(receive(*p.bob, *p.alice, send(*p.alice, *p.bob, "first")) == "first");
  auto second = send(*p.alice, *p.bob, "second");
  const Bytes before = stored_session(p);
  core::AccountInternals::held_signal(*p.bob).hold();
  CHECK(receive(*p.bob, *p.alice, second) == "second");
  core::AccountInternals::held_signal(*p.bob).keep_item();
  core::AccountInternals::held_signal(*p.bob)
      .discard();  // the transaction around it was rolled back
  CHECK(stored_session(p) == before);
  CHECK(receive(*p.bob, *p.alice, second) == "second");
}

TEST_CASE("a confirmed session stops sending PreKey messages, and the peer still decrypts them",
          "[crypto][signal]") {
  Pair p;
  p.connect();
  auto first = send(*p.alice, *p.bob, "one");
  auto second = send(*p.alice, *p.bob, "two");
  // Unanswered, every message repeats the X3DH header: the first may be lost.
  CHECK(first.type == crypto::Ciphertext::Type::kPreKey);
  CHECK(second.type == crypto::Ciphertext::Type::kPreKey);
  CHECK(receive(*p.bob, *p.alice, first) == "one");
  REQUIRE(core::AccountInternals::signal(*p.alice).confirm_session(p.bob->fingerprint()).is_ok());
  auto third = send(*p.alice, *p.bob, "three");
  CHECK(third.type == crypto::Ciphertext::Type::kWhisper);
  CHECK(receive(*p.bob, *p.alice, third) == "three");
  CHECK(receive(*p.bob, *p.alice, second) == "two");  // late, out of order: still fine
  p.reopen();
  CHECK(send(*p.alice, *p.bob, "four").type == crypto::Ciphertext::Type::kWhisper);
  // Confirming again, or with no pending header at all, changes nothing.
  CHECK(core::AccountInternals::signal(*p.alice).confirm_session(p.bob->fingerprint()).is_ok());
  CHECK(core::AccountInternals::signal(*p.bob).confirm_session(p.alice->fingerprint()).is_ok());
}
