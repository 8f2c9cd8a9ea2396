#include "sotto/crypto/frame_cipher.h"

#include <sodium.h>

#include <algorithm>
#include <array>

namespace sotto::crypto {
namespace {

constexpr char kAadLabel[] = "sotto voice frame v1";
constexpr size_t kSeqBytes = 8;
// The ids are 16 bytes each; this bounds the aad so that it is built on the stack per frame.
constexpr size_t kMaxIdsBytes = 64;
constexpr size_t kMaxAadBytes = sizeof kAadLabel - 1 + kMaxIdsBytes + kSeqBytes;

std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> nonce_of(uint64_t seq) {
  std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> nonce{};
  for (int i = 0; i < 8; ++i) nonce[nonce.size() - 1 - i] = static_cast<uint8_t>(seq >> (8 * i));
  return nonce;
}

// The aad of frame `seq`: the cipher's fixed prefix, then seq (big-endian 64).
struct Aad {
  std::array<uint8_t, kMaxAadBytes> bytes;
  size_t size;
};
Aad aad_of(ByteView header, uint64_t seq) {
  Aad aad{};
  std::copy(header.begin(), header.end(), aad.bytes.begin());
  for (size_t i = 0; i < kSeqBytes; ++i) {
    aad.bytes[header.size() + i] = static_cast<uint8_t>(seq >> (8 * (kSeqBytes - 1 - i)));
  }
  aad.size = header.size() + kSeqBytes;
  return aad;
}

}  // namespace

Result<FrameCipher> FrameCipher::create(const SecretBytes& key, ByteView channel_id,
                                        ByteView transmission_id) {
  if (key.size() != kFrameKeySize) return Status::invalid_argument("voice key must be 32 bytes");
  if (channel_id.size() + transmission_id.size() > kMaxIdsBytes) {
    return Status::invalid_argument("voice frame ids too long");
  }
  if (sodium_init() < 0) return Status::internal("libsodium failed to initialise");
  Bytes header(kAadLabel, kAadLabel + sizeof kAadLabel - 1);
  header.insert(header.end(), channel_id.begin(), channel_id.end());
  header.insert(header.end(), transmission_id.begin(), transmission_id.end());
  return FrameCipher(SecretBytes::copy_of(key.view()), std::move(header));
}

Bytes FrameCipher::seal(uint64_t seq, ByteView packet) const {
  Bytes out(packet.size() + kFrameTagSize);
  seal_into(seq, packet, out);
  return out;
}

void FrameCipher::seal_into(uint64_t seq, ByteView packet, std::span<uint8_t> out) const {
  const Aad aad = aad_of(header_, seq);
  const auto nonce = nonce_of(seq);
  crypto_aead_chacha20poly1305_ietf_encrypt_detached(
      out.data(), out.data() + packet.size(), nullptr, packet.data(), packet.size(),
      aad.bytes.data(), aad.size, nullptr, nonce.data(), key_.view().data());
}

Result<Bytes> FrameCipher::open(uint64_t seq, ByteView sealed) const {
  if (sealed.size() < kFrameTagSize) return Status::auth_failed("voice frame too short");
  Bytes out(sealed.size() - kFrameTagSize);
  const Aad aad = aad_of(header_, seq);
  const auto nonce = nonce_of(seq);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, sealed.data(),
                                                sealed.size(), aad.bytes.data(), aad.size,
                                                nonce.data(), key_.view().data()) != 0) {
    return Status::auth_failed("voice frame does not authenticate");
  }
  out.resize(written);
  return out;
}

bool ReplayWindow::fresh(uint64_t seq) const {
  if (!any_ || seq > highest_) return true;
  const uint64_t age = highest_ - seq;
  if (age >= kSize) return false;
  return (seen_ & (uint64_t{1} << age)) == 0;
}

void ReplayWindow::accept(uint64_t seq) {
  if (!any_) {
    any_ = true;
    highest_ = seq;
    seen_ = 1;
    return;
  }
  if (seq > highest_) {
    const uint64_t shift = seq - highest_;
    seen_ = shift >= kSize ? 0 : seen_ << shift;
    highest_ = seq;
    seen_ |= 1;
    return;
  }
  seen_ |= uint64_t{1} << (highest_ - seq);
}

}  // namespace sotto::crypto
