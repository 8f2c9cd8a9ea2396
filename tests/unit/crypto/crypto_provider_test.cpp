// The OpenSSL crypto provider against published vectors, its refusals, and libsignal running on
// it through a SignalContext.
#include <catch2/catch.hpp>

#include <curve.h>
#include <hkdf.h>
#include <key_helper.h>
#include <ratchet.h>
#include <signal_protocol.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "sotto/base/bytes.h"
#include "src/crypto/crypto_provider.h"
#include "src/crypto/signal_context.h"
#include "src/crypto/signal_ref.h"
#include "src/crypto/signal_status.h"

namespace sotto::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<SignalRef<ec_public_key>>);
static_assert(std::is_nothrow_move_constructible_v<SignalRef<ec_public_key>>);
static_assert(!std::is_copy_constructible_v<SignalBuffer>);
static_assert(std::is_nothrow_move_assignable_v<SignalBuffer>);
static_assert(!std::is_copy_constructible_v<SignalContext>);
static_assert(!std::is_move_constructible_v<SignalContext>);

Bytes unhex(std::string_view text) {
  auto bytes = from_hex(text);
  REQUIRE(bytes.has_value());
  return *bytes;
}

const signal_crypto_provider& provider() {
  static const signal_crypto_provider instance = openssl_crypto_provider();
  return instance;
}

// HMAC-SHA256 of `parts` fed one update at a time, as hex.
std::string hmac_sha256(ByteView key, std::initializer_list<ByteView> parts) {
  void* ctx = nullptr;
  REQUIRE(provider().hmac_sha256_init_func(&ctx, key.data(), key.size(), nullptr) == SG_SUCCESS);
  for (ByteView part : parts) {
    REQUIRE(provider().hmac_sha256_update_func(ctx, part.data(), part.size(), nullptr) ==
            SG_SUCCESS);
  }
  SignalBuffer mac;
  const int rc = provider().hmac_sha256_final_func(ctx, mac.out(), nullptr);
  provider().hmac_sha256_cleanup_func(ctx, nullptr);
  REQUIRE(rc == SG_SUCCESS);
  return to_hex(mac.view());
}

struct CipherResult {
  int rc;
  SignalBuffer output;
};

CipherResult encrypt(int cipher, ByteView key, ByteView iv, ByteView plaintext) {
  CipherResult result{0, {}};
  result.rc =
      provider().encrypt_func(result.output.out(), cipher, key.data(), key.size(), iv.data(),
                              iv.size(), plaintext.data(), plaintext.size(), nullptr);
  return result;
}

CipherResult decrypt(int cipher, ByteView key, ByteView iv, ByteView ciphertext) {
  CipherResult result{0, {}};
  result.rc =
      provider().decrypt_func(result.output.out(), cipher, key.data(), key.size(), iv.data(),
                              iv.size(), ciphertext.data(), ciphertext.size(), nullptr);
  return result;
}

std::unique_ptr<SignalContext> make_context() {
  auto context = SignalContext::create();
  REQUIRE(context.is_ok());
  return std::move(context).value();
}

// NIST SP 800-38A: the four-block plaintext shared by its AES examples.
constexpr std::string_view kSp80038aPlaintext =
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710";

TEST_CASE("HMAC-SHA256 matches RFC 4231 test case 2, in one piece or several",
          "[crypto][provider]") {
  const ByteView key = as_bytes("Jefe");
  const std::string expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  CHECK(hmac_sha256(key, {as_bytes("what do ya want for nothing?")}) == expected);
  CHECK(hmac_sha256(key, {as_bytes("what do ya "), as_bytes(""), as_bytes("want for nothing?")}) ==
        expected);
}

TEST_CASE("HMAC-SHA256 with an empty key, as HKDF with an empty salt uses, is the real empty key",
          "[crypto][provider]") {
  CHECK(hmac_sha256({}, {}) == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST_CASE("SHA-512 of abc matches FIPS 180-2 and the context is reusable after final",
          "[crypto][provider]") {
  const std::string expected =
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
  void* ctx = nullptr;
  REQUIRE(provider().sha512_digest_init_func(&ctx, nullptr) == SG_SUCCESS);
  const ByteView abc = as_bytes("abc");
  // Twice through one context: a context that were not reset by final would fail the second
  // update or hash "abcabc".
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);
    REQUIRE(provider().sha512_digest_update_func(ctx, abc.data(), abc.size(), nullptr) ==
            SG_SUCCESS);
    SignalBuffer digest;
    REQUIRE(provider().sha512_digest_final_func(ctx, digest.out(), nullptr) == SG_SUCCESS);
    CHECK(to_hex(digest.view()) == expected);
  }
  provider().sha512_digest_cleanup_func(ctx, nullptr);
}

TEST_CASE("AES-128-CBC matches SP 800-38A F.2.1 plus one PKCS5 padding block",
          "[crypto][provider]") {
  const Bytes key = unhex("2b7e151628aed2a6abf7158809cf4f3c");
  const Bytes iv = unhex("000102030405060708090a0b0c0d0e0f");
  const Bytes plaintext = unhex(kSp80038aPlaintext);
  const std::string expected =
      "7649abac8119b246cee98e9b12e9197d"
      "5086cb9b507219ee95db113a917678b2"
      "73bed6b8e3c1743b7116e69e22229516"
      "3ff1caa1681fac09120eca307586e1a7";

  auto sealed = encrypt(SG_CIPHER_AES_CBC_PKCS5, key, iv, plaintext);
  REQUIRE(sealed.rc == SG_SUCCESS);
  // A whole-block plaintext gets a whole block of padding.
  REQUIRE(sealed.output.size() == plaintext.size() + 16);
  CHECK(to_hex(sealed.output.view().first(plaintext.size())) == expected);

  auto opened = decrypt(SG_CIPHER_AES_CBC_PKCS5, key, iv, sealed.output.view());
  REQUIRE(opened.rc == SG_SUCCESS);
  CHECK(opened.output.to_bytes() == plaintext);
}

TEST_CASE("AES-CBC round-trips every length around the block size", "[crypto][provider]") {
  const Bytes key(24, 0x42);  // AES-192 on the way
  const Bytes iv(16, 0x24);
  for (size_t len = 0; len <= 33; ++len) {
    CAPTURE(len);
    const Bytes plaintext(len, static_cast<uint8_t>(len));
    auto sealed = encrypt(SG_CIPHER_AES_CBC_PKCS5, key, iv, plaintext);
    REQUIRE(sealed.rc == SG_SUCCESS);
    CHECK(sealed.output.size() == (len / 16 + 1) * 16);
    auto opened = decrypt(SG_CIPHER_AES_CBC_PKCS5, key, iv, sealed.output.view());
    REQUIRE(opened.rc == SG_SUCCESS);
    CHECK(opened.output.to_bytes() == plaintext);
  }
}

TEST_CASE("AES-256-CTR matches SP 800-38A F.5.5 and F.5.6", "[crypto][provider]") {
  const Bytes key = unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  const Bytes counter = unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  const Bytes plaintext = unhex(kSp80038aPlaintext);
  const std::string expected =
      "601ec313775789a5b7a7f504bbf3d228"
      "f443e3ca4d62b59aca84e990cacaf5c5"
      "2b0930daa23de94ce87017ba2d84988d"
      "dfc9c58db67aada613c2dd08457941a6";

  auto sealed = encrypt(SG_CIPHER_AES_CTR_NOPADDING, key, counter, plaintext);
  REQUIRE(sealed.rc == SG_SUCCESS);
  CHECK(to_hex(sealed.output.view()) == expected);

  auto opened = decrypt(SG_CIPHER_AES_CTR_NOPADDING, key, counter, unhex(expected));
  REQUIRE(opened.rc == SG_SUCCESS);
  CHECK(opened.output.to_bytes() == plaintext);

  // No padding: a partial block stays partial.
  auto partial = encrypt(SG_CIPHER_AES_CTR_NOPADDING, key, counter, ByteView(plaintext).first(5));
  REQUIRE(partial.rc == SG_SUCCESS);
  CHECK(to_hex(partial.output.view()) == expected.substr(0, 10));
}

TEST_CASE("CBC decryption refuses tampered padding and ciphertext of the wrong length",
          "[crypto][provider]") {
  const Bytes key(16, 0x11);
  const Bytes iv(16, 0x22);
  const Bytes plaintext(16, 0x33);
  auto sealed = encrypt(SG_CIPHER_AES_CBC_PKCS5, key, iv, plaintext);
  REQUIRE(sealed.rc == SG_SUCCESS);
  const Bytes ciphertext = sealed.output.to_bytes();
  REQUIRE(ciphertext.size() == 32);

  // The second block decrypts to sixteen 0x10 bytes XORed with the first ciphertext block, so
  // flipping a bit there flips the same bit of one padding byte: every such change is invalid.
  for (size_t i = 0; i < 16; ++i) {
    CAPTURE(i);
    Bytes tampered = ciphertext;
    tampered[i] ^= 0x01;
    auto opened = decrypt(SG_CIPHER_AES_CBC_PKCS5, key, iv, tampered);
    CHECK(opened.rc < 0);
    CHECK_FALSE(opened.output);
  }

  for (size_t len : {size_t{0}, size_t{15}, size_t{17}, size_t{31}}) {
    CAPTURE(len);
    auto opened = decrypt(SG_CIPHER_AES_CBC_PKCS5, key, iv, ByteView(ciphertext).first(len));
    CHECK(opened.rc < 0);
    CHECK_FALSE(opened.output);
  }
}

TEST_CASE("the ciphers refuse a wrong IV length, key length or mode", "[crypto][provider]") {
  const Bytes key(32, 0x01);
  const Bytes data(16, 0x02);
  for (int cipher : {SG_CIPHER_AES_CBC_PKCS5, SG_CIPHER_AES_CTR_NOPADDING}) {
    CAPTURE(cipher);
    for (size_t iv_len : {size_t{0}, size_t{8}, size_t{15}, size_t{17}, size_t{32}}) {
      CAPTURE(iv_len);
      const Bytes iv(iv_len, 0x03);
      auto sealed = encrypt(cipher, key, iv, data);
      CHECK(sealed.rc == SG_ERR_INVAL);
      CHECK_FALSE(sealed.output);
      CHECK(decrypt(cipher, key, iv, data).rc == SG_ERR_INVAL);
    }
    for (size_t key_len : {size_t{0}, size_t{15}, size_t{20}, size_t{33}}) {
      CAPTURE(key_len);
      const Bytes short_key(key_len, 0x01);
      CHECK(encrypt(cipher, short_key, Bytes(16, 0), data).rc == SG_ERR_INVAL);
      CHECK(decrypt(cipher, short_key, Bytes(16, 0), data).rc == SG_ERR_INVAL);
    }
  }
  CHECK(encrypt(0, key, Bytes(16, 0), data).rc == SG_ERR_INVAL);
  CHECK(decrypt(3, key, Bytes(16, 0), data).rc == SG_ERR_INVAL);
}

TEST_CASE("random fills distinct buffers", "[crypto][provider]") {
  Bytes first(32, 0);
  Bytes second(32, 0);
  REQUIRE(provider().random_func(first.data(), first.size(), nullptr) == SG_SUCCESS);
  REQUIRE(provider().random_func(second.data(), second.size(), nullptr) == SG_SUCCESS);
  // Each check fails by chance with probability 2^-256.
  CHECK(first != Bytes(32, 0));
  CHECK(first != second);
  CHECK(provider().random_func(nullptr, 0, nullptr) == SG_SUCCESS);
}

TEST_CASE("a signature by a fresh identity key verifies, and any flipped bit is refused",
          "[crypto][signal]") {
  auto context = make_context();
  SignalRef<ratchet_identity_key_pair> identity;
  REQUIRE(signal_protocol_key_helper_generate_identity_key_pair(identity.out(), context->get()) ==
          SG_SUCCESS);
  ec_public_key* public_key = ratchet_identity_key_pair_get_public(identity.get());
  ec_private_key* private_key = ratchet_identity_key_pair_get_private(identity.get());

  const Bytes message(40, 0x5a);
  SignalBuffer signature;
  REQUIRE(curve_calculate_signature(context->get(), signature.out(), private_key, message.data(),
                                    message.size()) == SG_SUCCESS);
  REQUIRE(signature.size() == CURVE_SIGNATURE_LEN);
  const Bytes good = signature.to_bytes();
  CHECK(curve_verify_signature(public_key, message.data(), message.size(), good.data(),
                               good.size()) == 1);

  for (size_t bit = 0; bit < good.size() * 8; ++bit) {
    CAPTURE(bit);
    Bytes tampered = good;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    CHECK(curve_verify_signature(public_key, message.data(), message.size(), tampered.data(),
                                 tampered.size()) != 1);
  }
  Bytes other_message = message;
  other_message[0] ^= 0x80;
  CHECK(curve_verify_signature(public_key, other_message.data(), other_message.size(), good.data(),
                               good.size()) != 1);

  // A second key pair comes from fresh randomness.
  SignalRef<ratchet_identity_key_pair> other;
  REQUIRE(signal_protocol_key_helper_generate_identity_key_pair(other.out(), context->get()) ==
          SG_SUCCESS);
  CHECK(ec_public_key_compare(public_key, ratchet_identity_key_pair_get_public(other.get())) != 0);
  CHECK(curve_verify_signature(ratchet_identity_key_pair_get_public(other.get()), message.data(),
                               message.size(), good.data(), good.size()) != 1);
}

TEST_CASE("libsignal's HKDF running on the provider matches RFC 5869 test case 1",
          "[crypto][signal]") {
  auto context = make_context();
  SignalRef<hkdf_context> hkdf;
  // Message version 3 is RFC 5869 HKDF (counter from 1).
  REQUIRE(hkdf_create(hkdf.out(), 3, context->get()) == SG_SUCCESS);
  const Bytes ikm(22, 0x0b);
  const Bytes salt = unhex("000102030405060708090a0b0c");
  const Bytes info = unhex("f0f1f2f3f4f5f6f7f8f9");
  uint8_t* raw = nullptr;
  const ssize_t len = hkdf_derive_secrets(hkdf.get(), &raw, ikm.data(), ikm.size(), salt.data(),
                                          salt.size(), info.data(), info.size(), 42);
  std::unique_ptr<uint8_t, decltype(&std::free)> okm(raw, &std::free);
  REQUIRE(len == 42);
  CHECK(to_hex({okm.get(), 42}) ==
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST_CASE("a malformed public key is Corruption, and libsignal's log line is only counted",
          "[crypto][signal]") {
  auto context = make_context();
  SignalRef<ratchet_identity_key_pair> identity;
  REQUIRE(signal_protocol_key_helper_generate_identity_key_pair(identity.out(), context->get()) ==
          SG_SUCCESS);
  SignalBuffer serialized;
  REQUIRE(ec_public_key_serialize(serialized.out(), ratchet_identity_key_pair_get_public(
                                                        identity.get())) == SG_SUCCESS);
  Bytes encoded = serialized.to_bytes();
  REQUIRE(encoded.size() == 33);

  SignalRef<ec_public_key> decoded;
  REQUIRE(curve_decode_point(decoded.out(), encoded.data(), encoded.size(), context->get()) ==
          SG_SUCCESS);
  CHECK(context->warning_count() == 0);

  encoded[0] ^= 0x01;  // the key type byte
  const Status status = status_from_signal(
      curve_decode_point(decoded.out(), encoded.data(), encoded.size(), context->get()),
      "reading peer key");
  CHECK(status.code() == StatusCode::kCorruption);
  CHECK(status.message() == "reading peer key: invalid key (signal error -1002)");
  CHECK_FALSE(decoded);
  CHECK(context->warning_count() == 1);
}

TEST_CASE("SignalRef::share keeps a key alive after its parent is released", "[crypto][signal]") {
  auto context = make_context();
  SignalRef<ratchet_identity_key_pair> identity;
  REQUIRE(signal_protocol_key_helper_generate_identity_key_pair(identity.out(), context->get()) ==
          SG_SUCCESS);
  SignalBuffer before;
  REQUIRE(ec_public_key_serialize(
              before.out(), ratchet_identity_key_pair_get_public(identity.get())) == SG_SUCCESS);

  auto public_key =
      SignalRef<ec_public_key>::share(ratchet_identity_key_pair_get_public(identity.get()));
  identity.reset();
  CHECK_FALSE(identity);

  // Under `make asan` a missing reference is a use-after-free here.
  SignalBuffer after;
  REQUIRE(ec_public_key_serialize(after.out(), public_key.get()) == SG_SUCCESS);
  CHECK(after.to_bytes() == before.to_bytes());

  SignalRef<ec_public_key> moved = std::move(public_key);
  CHECK(moved);
  CHECK_FALSE(public_key);  // NOLINT(bugprone-use-after-move): moved-from state is the contract
}

TEST_CASE("status_from_signal names the reason and keeps a duplicate recognizable",
          "[crypto][signal]") {
  CHECK(status_from_signal(SG_SUCCESS, "x").is_ok());
  CHECK(status_from_signal(1, "x").is_ok());

  const Status duplicate = status_from_signal(SG_ERR_DUPLICATE_MESSAGE, "decrypting message");
  CHECK(duplicate.code() == StatusCode::kAuthFailed);
  CHECK(duplicate.message() == "decrypting message: duplicate message (signal error -1001)");
  CHECK(is_duplicate_message(duplicate));
  CHECK(is_duplicate_message(duplicate.with_context("from alice")));
  CHECK_FALSE(is_duplicate_message(status_from_signal(SG_ERR_INVALID_MESSAGE, "decrypting")));
  CHECK_FALSE(is_duplicate_message(status_from_signal(SG_ERR_INVALID_MAC, "decrypting")));

  CHECK(status_from_signal(SG_ERR_UNTRUSTED_IDENTITY, "x").code() == StatusCode::kUntrusted);
  CHECK(status_from_signal(SG_ERR_INVALID_MESSAGE, "x").code() == StatusCode::kAuthFailed);
  CHECK(status_from_signal(SG_ERR_INVALID_MAC, "x").code() == StatusCode::kAuthFailed);
  CHECK(status_from_signal(SG_ERR_NO_SESSION, "x").code() == StatusCode::kNotFound);
  CHECK(status_from_signal(SG_ERR_INVALID_KEY_ID, "x").code() == StatusCode::kNotFound);
  CHECK(status_from_signal(SG_ERR_INVALID_PROTO_BUF, "x").code() == StatusCode::kCorruption);
  CHECK(status_from_signal(SG_ERR_INVAL, "x").code() == StatusCode::kInvalidArgument);
  CHECK(status_from_signal(SG_ERR_NOMEM, "x").code() == StatusCode::kInternal);
  CHECK(status_from_signal(SG_ERR_MINIMUM - 1, "x").code() == StatusCode::kInternal);
  CHECK(status_from_signal(-7, "x").code() == StatusCode::kInternal);
}

}  // namespace
}  // namespace sotto::crypto
