#include "sotto/crypto/pair_seal.h"

#include <sodium.h>

#include <algorithm>
#include <string_view>

namespace sotto::crypto {
namespace {

constexpr std::string_view kKeyLabel = "sotto datagram v1";
constexpr std::string_view kTagLabel = "sotto datagram tag v1";

static_assert(PairSeal::kNonceSize == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(PairSeal::kMacSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(PairSeal::kKeySize == crypto_box_PUBLICKEYBYTES);

void put_be64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

uint64_t get_be64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace

Result<PairSeal> PairSeal::to(const SecretBytes& own_secret, ByteView own_public,
                              ByteView peer_public, uint64_t session) {
  return derive(own_secret, peer_public, own_public, peer_public, session);
}

Result<PairSeal> PairSeal::from(const SecretBytes& own_secret, ByteView own_public,
                                ByteView peer_public, uint64_t session) {
  return derive(own_secret, peer_public, peer_public, own_public, session);
}

Result<PairSeal> PairSeal::derive(const SecretBytes& own_secret, ByteView peer_public,
                                  ByteView sender, ByteView receiver, uint64_t session) {
  if (own_secret.size() != crypto_box_SECRETKEYBYTES || peer_public.size() != kKeySize ||
      sender.size() != kKeySize || receiver.size() != kKeySize) {
    return Status::invalid_argument("datagram keys must be 32 bytes");
  }
  if (sodium_init() < 0) return Status::internal("libsodium failed to initialise");
  SecretBytes shared(crypto_box_BEFORENMBYTES);
  if (crypto_box_beforenm(shared.data(), peer_public.data(), own_secret.data()) != 0) {
    return Status::invalid_argument("the peer's transport key gives no shared secret");
  }
  Bytes context(kKeyLabel.begin(), kKeyLabel.end());
  context.insert(context.end(), sender.begin(), sender.end());
  context.insert(context.end(), receiver.begin(), receiver.end());
  SecretBytes key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  crypto_generichash(key.data(), key.size(), context.data(), context.size(), shared.data(),
                     shared.size());
  Bytes tag_input(kTagLabel.begin(), kTagLabel.end());
  tag_input.resize(tag_input.size() + 8);
  put_be64(tag_input.data() + kTagLabel.size(), session);
  Bytes tag(kTagSize);
  crypto_generichash(tag.data(), tag.size(), tag_input.data(), tag_input.size(), key.data(),
                     key.size());
  return PairSeal(std::move(key), std::move(tag), session);
}

Bytes PairSeal::seal(uint64_t number, ByteView plaintext) const {
  Bytes out(kOverhead + plaintext.size());
  out[0] = kVersion;
  std::copy(tag_.begin(), tag_.end(), out.begin() + 1);
  uint8_t* nonce = out.data() + kHeaderSize;  // the rest of it stays zero
  put_be64(nonce, session_);
  put_be64(nonce + 8, number);
  unsigned long long sealed_size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kHeaderSize + kNonceSize, &sealed_size,
                                             plaintext.data(), plaintext.size(), out.data(),
                                             kHeaderSize, nullptr, nonce, key_.data());
  return out;
}

Result<PairSeal::Opened> PairSeal::open(ByteView datagram) const {
  if (datagram.size() < kOverhead || datagram[0] != kVersion) {
    return Status::corruption("not a sotto datagram");
  }
  const uint8_t* nonce = datagram.data() + kHeaderSize;
  if (!std::equal(tag_.begin(), tag_.end(), datagram.begin() + 1) || get_be64(nonce) != session_) {
    return Status::auth_failed("the datagram belongs to another pair or session");
  }
  const ByteView sealed = datagram.subspan(kHeaderSize + kNonceSize);
  Opened opened;
  opened.number = get_be64(nonce + 8);
  opened.plaintext.resize(sealed.size() - kMacSize);
  unsigned long long plain_size = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(opened.plaintext.data(), &plain_size, nullptr,
                                                 sealed.data(), sealed.size(), datagram.data(),
                                                 kHeaderSize, nonce, key_.data()) != 0) {
    return Status::auth_failed("the datagram does not open with its pair's key");
  }
  return opened;
}

std::optional<Bytes> PairSeal::tag_of(ByteView datagram) {
  if (datagram.size() < kOverhead || datagram[0] != kVersion) return std::nullopt;
  return Bytes(datagram.begin() + 1, datagram.begin() + kHeaderSize);
}

}  // namespace sotto::crypto
