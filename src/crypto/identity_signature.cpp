#include "sotto/crypto/identity_signature.h"

#include "sotto/crypto/verify_ahead.h"

#include <openssl/bn.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace sotto::crypto {
namespace {

constexpr size_t kKeySize = 32;
constexpr uint8_t kDjbKeyType = 0x05;  // libsignal's type byte for Curve25519 public keys
constexpr size_t kSignatureSize = crypto_sign_BYTES;
// Identities whose converted keys are kept; a LAN of thousands fits, and past that the cache
// starts again rather than grow with what strangers send.
constexpr size_t kMaxCachedKeys = 8192;

using MontgomeryKey = std::array<uint8_t, kKeySize>;
using EdwardsKey = std::array<uint8_t, kKeySize>;
using BigNum = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using BigNumContext = std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)>;

BigNum big(BIGNUM* value) {
  return BigNum(value, &BN_free);
}

// The Edwards y of Montgomery u: y = (u - 1) / (u + 1) mod p, p = 2^255 - 19, encoded little
// endian with the sign bit clear (RFC 7748, section 4.1). nullopt for u = -1, which no key
// has.
std::optional<EdwardsKey> edwards_from_montgomery(const uint8_t* montgomery_u) {
  uint8_t u_bytes[kKeySize];
  std::memcpy(u_bytes, montgomery_u, kKeySize);
  u_bytes[kKeySize - 1] &= 0x7f;  // bit 255 is not part of u (RFC 7748, section 5)
  BigNumContext ctx(BN_CTX_new(), &BN_CTX_free);
  BigNum p = big(BN_new()), u = big(BN_lebin2bn(u_bytes, kKeySize, nullptr));
  BigNum top = big(BN_new()), bottom = big(BN_new()), inverse = big(BN_new()), y = big(BN_new());
  if (!ctx || !p || !u || !top || !bottom || !inverse || !y) return std::nullopt;
  if (BN_set_word(p.get(), 1) != 1 || BN_lshift(p.get(), p.get(), 255) != 1 ||
      BN_sub_word(p.get(), 19) != 1 || BN_nnmod(u.get(), u.get(), p.get(), ctx.get()) != 1 ||
      BN_mod_sub(top.get(), u.get(), BN_value_one(), p.get(), ctx.get()) != 1 ||
      BN_mod_add(bottom.get(), u.get(), BN_value_one(), p.get(), ctx.get()) != 1 ||
      BN_is_zero(bottom.get()) ||
      BN_mod_inverse(inverse.get(), bottom.get(), p.get(), ctx.get()) == nullptr ||
      BN_mod_mul(y.get(), top.get(), inverse.get(), p.get(), ctx.get()) != 1) {
    return std::nullopt;
  }
  EdwardsKey key{};
  if (BN_bn2lebinpad(y.get(), key.data(), kKeySize) != static_cast<int>(kKeySize)) {
    return std::nullopt;
  }
  return key;
}

class EdwardsKeys {
 public:
  std::optional<EdwardsKey> of(const uint8_t* montgomery_u) {
    MontgomeryKey id{};
    std::memcpy(id.data(), montgomery_u, kKeySize);
    {
      std::lock_guard lock(mutex_);
      if (auto it = keys_.find(id); it != keys_.end()) return it->second;
    }
    std::optional<EdwardsKey> key = edwards_from_montgomery(montgomery_u);
    if (!key) return std::nullopt;
    std::lock_guard lock(mutex_);
    if (keys_.size() >= kMaxCachedKeys) keys_.clear();
    keys_.emplace(id, *key);
    return key;
  }

 private:
  std::mutex mutex_;
  std::map<MontgomeryKey, EdwardsKey> keys_;
};

EdwardsKeys& edwards_keys() {
  static EdwardsKeys keys;
  return keys;
}

}  // namespace

bool verify_identity_signature(ByteView identity_public_key, ByteView message, ByteView signature) {
  if (identity_public_key.size() != kKeySize + 1 || identity_public_key[0] != kDjbKeyType ||
      signature.size() != kSignatureSize) {
    return false;
  }
  static const bool ready = sodium_init() >= 0;
  if (!ready) return false;
  std::optional<EdwardsKey> key = edwards_keys().of(identity_public_key.data() + 1);
  if (!key) return false;
  // XEdDSA keeps the Edwards key's sign bit in the top bit of S, which a valid S never uses.
  uint8_t ed25519_signature[kSignatureSize];
  std::memcpy(ed25519_signature, signature.data(), kSignatureSize);
  (*key)[kKeySize - 1] |= ed25519_signature[kSignatureSize - 1] & 0x80;
  ed25519_signature[kSignatureSize - 1] &= 0x7f;
  return crypto_sign_verify_detached(ed25519_signature, message.data(), message.size(),
                                     key->data()) == 0;
}

bool check_xeddsa(const uint8_t* signature, const uint8_t* key, const uint8_t* message,
                  size_t message_len) {
  uint8_t serialized[kKeySize + 1];
  serialized[0] = kDjbKeyType;
  std::memcpy(serialized + 1, key, kKeySize);
  return verify_identity_signature(ByteView(serialized, sizeof serialized),
                                   ByteView(message, message_len),
                                   ByteView(signature, kSignatureSize));
}

}  // namespace sotto::crypto

// libsignal checks every signature it meets (each sender-key message a channel member opens, a
// signed pre-key) with curve25519_verify, its 32-bit ref10 XEdDSA, converting the key on every
// call: about 90 µs a message, half of what opening a relayed channel message costs. It calls
// that function through its procedure linkage table, so a definition in our program takes
// every such call (as one of malloc would): the same check, with the converted key cached and
// libsodium's arithmetic. Returns 0 when the signature holds, as libsignal's does.
extern "C" int curve25519_verify(const unsigned char* signature, const unsigned char* public_key,
                                 const unsigned char* message, unsigned long message_len) {
  const auto length = static_cast<size_t>(message_len);
  // A batch's check the second core may have made already (verify_ahead.h).
  std::optional<bool> valid = sotto::crypto::verdict_ahead(public_key, message, length, signature);
  if (!valid) valid = sotto::crypto::check_xeddsa(signature, public_key, message, length);
  return *valid ? 0 : -1;
}
