#include "sotto/crypto/pair_seal.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace sotto::crypto {
namespace {

constexpr std::string_view kLabel = "sotto datagram v1";

static_assert(PairSeal::kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(PairSeal::kTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(PairSeal::kKeySize == crypto_box_PUBLICKEYBYTES);

}  // namespace

Result<PairSeal> PairSeal::to(const SecretBytes& own_secret, ByteView own_public,
                              ByteView peer_public) {
  return derive(own_secret, peer_public, own_public, peer_public, own_public);
}

Result<PairSeal> PairSeal::from(const SecretBytes& own_secret, ByteView own_public,
                                ByteView peer_public) {
  return derive(own_secret, peer_public, peer_public, own_public, peer_public);
}

Result<PairSeal> PairSeal::derive(const SecretBytes& own_secret, ByteView peer_public,
                                  ByteView sender, ByteView receiver, ByteView header_key) {
  if (own_secret.size() != crypto_box_SECRETKEYBYTES || peer_public.size() != kKeySize ||
      sender.size() != kKeySize || receiver.size() != kKeySize) {
    return Status::invalid_argument("datagram keys must be 32 bytes");
  }
  if (sodium_init() < 0) return Status::internal("libsodium failed to initialise");
  SecretBytes shared(crypto_box_BEFORENMBYTES);
  if (crypto_box_beforenm(shared.data(), peer_public.data(), own_secret.data()) != 0) {
    return Status::invalid_argument("the peer's transport key gives no shared secret");
  }
  Bytes context(kLabel.begin(), kLabel.end());
  context.insert(context.end(), sender.begin(), sender.end());
  context.insert(context.end(), receiver.begin(), receiver.end());
  SecretBytes key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  crypto_generichash(key.data(), key.size(), context.data(), context.size(), shared.data(),
                     shared.size());
  Bytes header{kVersion};
  header.insert(header.end(), header_key.begin(), header_key.end());
  return PairSeal(std::move(key), std::move(header));
}

Bytes PairSeal::seal(ByteView plaintext) const {
  Bytes out(kOverhead + plaintext.size());
  std::copy(header_.begin(), header_.end(), out.begin());
  uint8_t* nonce = out.data() + kHeaderSize;
  randombytes_buf(nonce, kNonceSize);
  unsigned long long sealed_size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kHeaderSize + kNonceSize, &sealed_size,
                                             plaintext.data(), plaintext.size(), out.data(),
                                             kHeaderSize, nullptr, nonce, key_.data());
  return out;
}

Result<Bytes> PairSeal::open(ByteView datagram) const {
  if (datagram.size() < kOverhead || datagram[0] != kVersion) {
    return Status::corruption("not a sotto datagram");
  }
  if (!std::equal(header_.begin(), header_.end(), datagram.begin())) {
    return Status::auth_failed("the datagram names another sender");
  }
  const uint8_t* nonce = datagram.data() + kHeaderSize;
  const ByteView sealed = datagram.subspan(kHeaderSize + kNonceSize);
  Bytes plain(sealed.size() - kTagSize);
  unsigned long long plain_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &plain_size, nullptr, sealed.data(),
                                                 sealed.size(), datagram.data(), kHeaderSize, nonce,
                                                 key_.data()) != 0) {
    return Status::auth_failed("the datagram does not open with its sender's key");
  }
  return plain;
}

std::optional<Bytes> PairSeal::claimed_sender(ByteView datagram) {
  if (datagram.size() < kOverhead || datagram[0] != kVersion) return std::nullopt;
  return Bytes(datagram.begin() + 1, datagram.begin() + kHeaderSize);
}

}  // namespace sotto::crypto
