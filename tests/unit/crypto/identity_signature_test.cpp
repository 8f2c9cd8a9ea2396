// verify_identity_signature against libsignal's own check: the same verdict on honest
// signatures, on every single-bit change of them, and on keys, messages and sizes that are not
// the signer's.
#include "sotto/crypto/identity_signature.h"

#include <curve.h>
#include <dlfcn.h>
#include <key_helper.h>
#include <ratchet.h>
#include <signal_protocol.h>
#include <catch2/catch.hpp>

#include "sotto/base/bytes.h"
#include "sotto/crypto/primitives.h"
#include "src/crypto/signal_context.h"
#include "src/crypto/signal_ref.h"

namespace sotto::crypto {
namespace {

struct Signer {
  SignalRef<ratchet_identity_key_pair> pair;
  Bytes public_key;  // serialized: 0x05 || u
};

Signer new_signer(SignalContext& context) {
  Signer signer;
  REQUIRE(signal_protocol_key_helper_generate_identity_key_pair(signer.pair.out(), context.get()) ==
          SG_SUCCESS);
  SignalBuffer serialized;
  REQUIRE(ec_public_key_serialize(serialized.out(),
                                  ratchet_identity_key_pair_get_public(signer.pair.get())) == 0);
  signer.public_key = serialized.to_bytes();
  return signer;
}

Bytes sign(SignalContext& context, const Signer& signer, const Bytes& message) {
  SignalBuffer signature;
  REQUIRE(curve_calculate_signature(context.get(), signature.out(),
                                    ratchet_identity_key_pair_get_private(signer.pair.get()),
                                    message.data(), message.size()) == SG_SUCCESS);
  return signature.to_bytes();
}

// libsignal's own check, the one our program's curve25519_verify stands in for.
using Curve25519Verify = int (*)(const unsigned char*, const unsigned char*, const unsigned char*,
                                 unsigned long);
Curve25519Verify libsignal_check() {
  static const auto check =
      reinterpret_cast<Curve25519Verify>(dlsym(RTLD_NEXT, "curve25519_verify"));
  return check;
}

bool libsignal_verdict(const Bytes& public_key, const Bytes& message, const Bytes& signature,
                       SignalContext& context) {
  SignalRef<ec_public_key> key;
  if (curve_decode_point(key.out(), public_key.data(), public_key.size(), context.get()) < 0 ||
      signature.size() != 64) {
    return false;
  }
  REQUIRE(libsignal_check() != nullptr);
  return libsignal_check()(signature.data(), public_key.data() + 1, message.data(),
                           message.size()) == 0;
}

}  // namespace

TEST_CASE("identity signatures: libsodium's verdict is libsignal's, for every bit flipped",
          "[crypto][signal]") {
  auto context = SignalContext::create();
  REQUIRE(context.is_ok());
  SignalContext& ctx = *context.value();
  const Signer other = new_signer(ctx);
  for (int round = 0; round < 24; ++round) {
    CAPTURE(round);
    const Signer signer = new_signer(ctx);
    const Bytes message = random_bytes(static_cast<size_t>(round * 11));
    const Bytes good = sign(ctx, signer, message);
    REQUIRE(libsignal_verdict(signer.public_key, message, good, ctx));
    CHECK(verify_identity_signature(signer.public_key, message, good));
    // Asked again, the converted key comes from the cache: the same verdicts.
    CHECK(verify_identity_signature(signer.public_key, message, good));
    CHECK_FALSE(verify_identity_signature(other.public_key, message, good));

    for (size_t bit = 0; bit < good.size() * 8; bit += (round == 0 ? 1 : 7)) {
      CAPTURE(bit);
      Bytes tampered = good;
      tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      CHECK_FALSE(libsignal_verdict(signer.public_key, message, tampered, ctx));
      CHECK_FALSE(verify_identity_signature(signer.public_key, message, tampered));
    }
    for (size_t bit = 8; bit < signer.public_key.size() * 8; bit += 13) {
      CAPTURE(bit);
      Bytes key = signer.public_key;
      key[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      CHECK(verify_identity_signature(key, message, good) ==
            libsignal_verdict(key, message, good, ctx));
    }
    if (!message.empty()) {
      Bytes altered = message;
      altered.back() ^= 0x01;
      CHECK_FALSE(verify_identity_signature(signer.public_key, altered, good));
    }
  }
}

TEST_CASE("identity signatures: libsignal's own checks (sender-key messages, pre-keys) come here",
          "[crypto][signal]") {
  // Every call libsignal makes to curve25519_verify binds to ours, not to its own copy.
  CHECK(dlsym(RTLD_DEFAULT, "curve25519_verify") == reinterpret_cast<void*>(&curve25519_verify));
  REQUIRE(libsignal_check() != nullptr);
  CHECK(reinterpret_cast<void*>(libsignal_check()) != reinterpret_cast<void*>(&curve25519_verify));
  auto context = SignalContext::create();
  REQUIRE(context.is_ok());
  const Signer signer = new_signer(*context.value());
  const Bytes message(77, 0x21);
  Bytes good = sign(*context.value(), signer, message);
  SignalRef<ec_public_key> key;
  REQUIRE(curve_decode_point(key.out(), signer.public_key.data(), signer.public_key.size(),
                             context.value()->get()) == 0);
  CHECK(curve_verify_signature(key.get(), message.data(), message.size(), good.data(),
                               good.size()) == 1);
  good[10] ^= 0x04;
  CHECK(curve_verify_signature(key.get(), message.data(), message.size(), good.data(),
                               good.size()) == 0);
}

TEST_CASE("identity signatures: wrong sizes and key types are refused", "[crypto][signal]") {
  auto context = SignalContext::create();
  REQUIRE(context.is_ok());
  const Signer signer = new_signer(*context.value());
  const Bytes message(40, 0x5a);
  const Bytes good = sign(*context.value(), signer, message);
  REQUIRE(verify_identity_signature(signer.public_key, message, good));
  CHECK_FALSE(verify_identity_signature(ByteView(signer.public_key).subspan(1), message, good));
  Bytes typed = signer.public_key;
  typed[0] = 0x06;
  CHECK_FALSE(verify_identity_signature(typed, message, good));
  CHECK_FALSE(verify_identity_signature(signer.public_key, message, ByteView(good).first(63)));
  Bytes longer = good;
  longer.push_back(0);
  CHECK_FALSE(verify_identity_signature(signer.public_key, message, longer));
  CHECK_FALSE(verify_identity_signature({}, message, good));
  // u = -1 (p - 1) has no Edwards form: refused, not a crash.
  Bytes minus_one(33, 0xff);
  minus_one[0] = 0x05;
  minus_one[1] = 0xec;
  minus_one[32] = 0x7f;
  CHECK_FALSE(verify_identity_signature(minus_one, message, good));
}

}  // namespace sotto::crypto
