// Voice frame sealing (doc/guide.md, Push-to-talk voice): a frame opens only with its
// transmission's key, at its own position, in its own channel and transmission; the replay window
// refuses repeats and frames too old to tell.
#include <catch2/catch.hpp>

#include "sotto/crypto/frame_cipher.h"
#include "sotto/crypto/primitives.h"

using namespace sotto;
using crypto::FrameCipher;
using crypto::ReplayWindow;

TEST_CASE("a sealed voice frame opens only in its own place", "[crypto][voice][security]") {
  const SecretBytes key = SecretBytes::copy_of(crypto::random_bytes(32));
  const Bytes channel = crypto::random_bytes(16);
  const Bytes transmission = crypto::random_bytes(16);
  auto cipher = FrameCipher::create(key, channel, transmission);
  REQUIRE(cipher.is_ok());
  const Bytes packet(60, 0x5a);
  const Bytes sealed = cipher.value().seal(7, packet);
  CHECK(sealed.size() == packet.size() + crypto::kFrameTagSize);
  auto opened = cipher.value().open(7, sealed);
  REQUIRE(opened.is_ok());
  CHECK(opened.value() == packet);
  // The same packet at another position seals differently (the nonce is the sequence number).
  CHECK(cipher.value().seal(8, packet) != sealed);

  CHECK(cipher.value().open(8, sealed).status().code() == StatusCode::kAuthFailed);
  Bytes flipped = sealed;
  flipped[3] ^= 0x80;
  CHECK_FALSE(cipher.value().open(7, flipped).is_ok());
  CHECK_FALSE(cipher.value().open(7, ByteView(sealed).first(10)).is_ok());
  auto elsewhere = FrameCipher::create(key, crypto::random_bytes(16), transmission);
  CHECK_FALSE(elsewhere.value().open(7, sealed).is_ok());
  auto other_transmission = FrameCipher::create(key, channel, crypto::random_bytes(16));
  CHECK_FALSE(other_transmission.value().open(7, sealed).is_ok());
  auto other_key =
      FrameCipher::create(SecretBytes::copy_of(crypto::random_bytes(32)), channel, transmission);
  CHECK_FALSE(other_key.value().open(7, sealed).is_ok());
  CHECK(FrameCipher::create(SecretBytes::copy_of(crypto::random_bytes(16)), channel, transmission)
            .status()
            .code() == StatusCode::kInvalidArgument);
}

TEST_CASE("the replay window accepts each sequence number once, in any order, within 64",
          "[crypto][voice][security]") {
  ReplayWindow window;
  CHECK(window.fresh(0));
  window.accept(0);
  CHECK_FALSE(window.fresh(0));
  window.accept(5);
  CHECK(window.fresh(3));  // late but inside the window
  window.accept(3);
  CHECK_FALSE(window.fresh(3));
  CHECK_FALSE(window.fresh(5));
  window.accept(100);
  CHECK_FALSE(window.fresh(36));  // older than the window: cannot tell, refused
  CHECK(window.fresh(37));
  CHECK(window.fresh(99));
  CHECK_FALSE(window.fresh(100));
  window.accept(1000);  // a jump clears the history
  CHECK_FALSE(window.fresh(1000));
  CHECK(window.fresh(999));
  CHECK_FALSE(window.fresh(100));
}

TEST_CASE("sealing into a frame's own buffer gives the bytes seal gives; over-long ids are refused",
          "[crypto][voice]") {
  const SecretBytes key = SecretBytes::copy_of(crypto::random_bytes(32));
  auto cipher = FrameCipher::create(key, crypto::random_bytes(16), crypto::random_bytes(16));
  REQUIRE(cipher.is_ok());
  for (size_t size : {size_t{0}, size_t{1}, size_t{60}, size_t{1275}}) {
    const Bytes packet = crypto::random_bytes(size);
    Bytes in_place(size + crypto::kFrameTagSize, 0xee);
    cipher.value().seal_into(41, packet, in_place);
    CHECK(in_place == cipher.value().seal(41, packet));
    auto opened = cipher.value().open(41, in_place);
    REQUIRE(opened.is_ok());
    CHECK(opened.value() == packet);
  }
  CHECK(FrameCipher::create(key, crypto::random_bytes(32), crypto::random_bytes(32)).is_ok());
  CHECK(FrameCipher::create(key, crypto::random_bytes(33), crypto::random_bytes(32))
            .status()
            .code() == StatusCode::kInvalidArgument);
}
