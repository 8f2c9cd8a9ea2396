// PairSeal (doc/protocol.md, Voice datagrams): a datagram opens only for the one receiver it was
// sealed for, only as from the one sender whose key made it, and not after any byte changed.
#include <catch2/catch.hpp>

#include "sotto/crypto/pair_seal.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"

using namespace sotto;
using crypto::PairSeal;

namespace {

struct Keys {
  Bytes public_key;
  SecretBytes secret;
};

Keys make_keys() {
  auto pair = crypto::SignalEngine::generate_curve_key_pair();
  REQUIRE(pair.is_ok());
  return Keys{pair.value().first, SecretBytes::copy_of(pair.value().second.view())};
}

PairSeal sender_to(const Keys& from, const Keys& to) {
  auto seal = PairSeal::to(from.secret, from.public_key, to.public_key);
  REQUIRE(seal.is_ok());
  return std::move(seal).value();
}

PairSeal receiver_from(const Keys& at, const Keys& from) {
  auto seal = PairSeal::from(at.secret, at.public_key, from.public_key);
  REQUIRE(seal.is_ok());
  return std::move(seal).value();
}

}  // namespace

TEST_CASE("a datagram opens at its receiver as from its sender, and names the sender",
          "[crypto][datagram]") {
  const Keys alice = make_keys(), bob = make_keys();
  const Bytes frame = crypto::random_bytes(200);
  const Bytes datagram = sender_to(alice, bob).seal(frame);
  CHECK(datagram.size() == frame.size() + PairSeal::kOverhead);
  CHECK(PairSeal::claimed_sender(datagram) == alice.public_key);
  auto opened = receiver_from(bob, alice).open(datagram);
  REQUIRE(opened.is_ok());
  CHECK(opened.value() == frame);
  // A fresh nonce each time: the same frame never looks the same on the wire.
  CHECK(sender_to(alice, bob).seal(frame) != datagram);
}

TEST_CASE(
    "a datagram does not open for anyone else, not reflected to its sender, not claimed by a third "
    "party, not after any byte changed",
    "[crypto][datagram][security]") {
  const Keys alice = make_keys(), bob = make_keys(), carol = make_keys(), mallory = make_keys();
  const Bytes frame = crypto::random_bytes(120);
  const Bytes datagram = sender_to(alice, bob).seal(frame);

  // Carol, another listener of the same transmission, cannot read what Alice sent Bob.
  CHECK(receiver_from(carol, alice).open(datagram).status().code() == StatusCode::kAuthFailed);
  // Sent back to Alice as if from Bob: it names Alice, and with Bob's name written in, the
  // direction in the key still differs.
  CHECK_FALSE(receiver_from(alice, bob).open(datagram).is_ok());
  Bytes reflected = datagram;
  std::copy(bob.public_key.begin(), bob.public_key.end(), reflected.begin() + 1);
  CHECK(receiver_from(alice, bob).open(reflected).status().code() == StatusCode::kAuthFailed);
  // Mallory seals with her own key and writes Alice's in: Bob opens it as Alice's and fails.
  Bytes forged = sender_to(mallory, bob).seal(frame);
  std::copy(alice.public_key.begin(), alice.public_key.end(), forged.begin() + 1);
  CHECK(PairSeal::claimed_sender(forged) == alice.public_key);
  CHECK(receiver_from(bob, alice).open(forged).status().code() == StatusCode::kAuthFailed);

  const PairSeal at_bob = receiver_from(bob, alice);
  for (size_t at : {size_t{0}, size_t{1}, size_t{32}, PairSeal::kHeaderSize,
                    PairSeal::kHeaderSize + PairSeal::kNonceSize, datagram.size() - 1}) {
    Bytes changed = datagram;
    changed[at] ^= 0x01;
    INFO("byte " << at);
    CHECK_FALSE(at_bob.open(changed).is_ok());
  }
  for (size_t size : {size_t{0}, size_t{1}, PairSeal::kOverhead - 1}) {
    const Bytes cut(datagram.begin(), datagram.begin() + static_cast<std::ptrdiff_t>(size));
    CHECK(at_bob.open(cut).status().code() == StatusCode::kCorruption);
    CHECK_FALSE(PairSeal::claimed_sender(cut).has_value());
  }
  CHECK(at_bob.open(datagram).is_ok());
}

TEST_CASE("a peer key that gives no shared secret is refused", "[crypto][datagram][security]") {
  const Keys alice = make_keys();
  // The identity point: X25519 with it yields all zeros, which libsodium refuses.
  const Bytes low_order(32, 0);
  CHECK(PairSeal::to(alice.secret, alice.public_key, low_order).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(PairSeal::from(alice.secret, alice.public_key, Bytes(31, 7)).status().code() ==
        StatusCode::kInvalidArgument);
}
