// PairSeal (doc/protocol.md, Voice datagrams): a datagram opens only for the one receiver it was
// sealed for, only as from the one sender whose key made it, only in the session the receiver
// was told, and not after any byte changed; an observer sees no key.
#include <catch2/catch.hpp>

#include <algorithm>

#include "sotto/crypto/pair_seal.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"

using namespace sotto;
using crypto::PairSeal;

namespace {

constexpr uint64_t kSession = 0x0123456789abcdefULL;

struct Keys {
  Bytes public_key;
  SecretBytes secret;
};

Keys make_keys() {
  auto pair = crypto::SignalEngine::generate_curve_key_pair();
  REQUIRE(pair.is_ok());
  return Keys{pair.value().first, SecretBytes::copy_of(pair.value().second.view())};
}

PairSeal sender_to(const Keys& from, const Keys& to, uint64_t session = kSession) {
  auto seal = PairSeal::to(from.secret, from.public_key, to.public_key, session);
  REQUIRE(seal.is_ok());
  return std::move(seal).value();
}

PairSeal receiver_from(const Keys& at, const Keys& from, uint64_t session = kSession) {
  auto seal = PairSeal::from(at.secret, at.public_key, from.public_key, session);
  REQUIRE(seal.is_ok());
  return std::move(seal).value();
}

bool contains(const Bytes& haystack, const Bytes& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

}  // namespace

TEST_CASE("a datagram opens at its receiver with its number; the tag is the pair's and session's",
          "[crypto][datagram]") {
  const Keys alice = make_keys(), bob = make_keys();
  const Bytes frame = crypto::random_bytes(200);
  const PairSeal to_bob = sender_to(alice, bob);
  const Bytes datagram = to_bob.seal(41, frame);
  CHECK(datagram.size() == frame.size() + PairSeal::kOverhead);
  const PairSeal at_bob = receiver_from(bob, alice);
  CHECK(at_bob.tag() == to_bob.tag());
  CHECK(PairSeal::tag_of(datagram) == at_bob.tag());
  auto opened = at_bob.open(datagram);
  REQUIRE(opened.is_ok());
  CHECK(opened.value().number == 41);
  CHECK(opened.value().plaintext == frame);
  // Neither transport key is on the wire, and the tag changes with the session.
  CHECK_FALSE(contains(datagram, alice.public_key));
  CHECK_FALSE(contains(datagram, bob.public_key));
  CHECK(sender_to(alice, bob, kSession + 1).tag() != to_bob.tag());
  // Another number, another nonce: the same frame never looks the same twice.
  CHECK(to_bob.seal(42, frame) != datagram);
}

TEST_CASE(
    "a datagram does not open for anyone else, reflected to its sender, forged by a third party, "
    "in another session, or after any byte changed",
    "[crypto][datagram][security]") {
  const Keys alice = make_keys(), bob = make_keys(), carol = make_keys(), mallory = make_keys();
  const Bytes frame = crypto::random_bytes(120);
  const Bytes datagram = sender_to(alice, bob).seal(7, frame);

  // Carol, another listener of the same transmission, cannot open what Alice sent Bob.
  CHECK(receiver_from(carol, alice).open(datagram).status().code() == StatusCode::kAuthFailed);
  // Sent back to Alice as if from Bob: the direction is in the key and in the tag.
  CHECK(receiver_from(alice, bob).open(datagram).status().code() == StatusCode::kAuthFailed);
  Bytes reflected = datagram;
  const Bytes bob_tag = sender_to(bob, alice).tag();
  std::copy(bob_tag.begin(), bob_tag.end(), reflected.begin() + 1);
  CHECK(receiver_from(alice, bob).open(reflected).status().code() == StatusCode::kAuthFailed);
  // Mallory seals with her own key under the tag of Alice's pair with Bob.
  Bytes forged = sender_to(mallory, bob).seal(8, frame);
  const Bytes alice_tag = sender_to(alice, bob).tag();
  std::copy(alice_tag.begin(), alice_tag.end(), forged.begin() + 1);
  CHECK(receiver_from(bob, alice).open(forged).status().code() == StatusCode::kAuthFailed);
  // A datagram of Alice's previous run: Bob was told the new session.
  CHECK(receiver_from(bob, alice, kSession + 1).open(datagram).status().code() ==
        StatusCode::kAuthFailed);

  const PairSeal at_bob = receiver_from(bob, alice);
  for (size_t at : {size_t{0}, size_t{1}, PairSeal::kHeaderSize - 1, PairSeal::kHeaderSize,
                    PairSeal::kHeaderSize + 15, PairSeal::kHeaderSize + PairSeal::kNonceSize - 1,
                    PairSeal::kHeaderSize + PairSeal::kNonceSize, datagram.size() - 1}) {
    Bytes changed = datagram;
    changed[at] ^= 0x01;
    INFO("byte " << at);
    CHECK_FALSE(at_bob.open(changed).is_ok());
  }
  for (size_t size : {size_t{0}, size_t{1}, PairSeal::kOverhead - 1}) {
    const Bytes cut(datagram.begin(), datagram.begin() + static_cast<std::ptrdiff_t>(size));
    CHECK(at_bob.open(cut).status().code() == StatusCode::kCorruption);
    CHECK_FALSE(PairSeal::tag_of(cut).has_value());
  }
  CHECK(at_bob.open(datagram).is_ok());
}

TEST_CASE("a peer key that gives no shared secret is refused", "[crypto][datagram][security]") {
  const Keys alice = make_keys();
  // The identity point: X25519 with it yields all zeros, which libsodium refuses.
  const Bytes low_order(32, 0);
  CHECK(PairSeal::to(alice.secret, alice.public_key, low_order, kSession).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(PairSeal::from(alice.secret, alice.public_key, Bytes(31, 7), kSession).status().code() ==
        StatusCode::kInvalidArgument);
}
