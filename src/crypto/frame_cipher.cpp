#include "sotto/crypto/frame_cipher.h"

#include <sodium.h>

#include <array>

namespace sotto::crypto {
namespace {

constexpr char kAadLabel[] = "sotto voice frame v1";

void append_be64(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> nonce_of(uint64_t seq) {
  std::array<uint8_t, crypto_aead_chacha20poly1305_IETF_NPUBBYTES> nonce{};
  for (int i = 0; i < 8; ++i) nonce[nonce.size() - 1 - i] = static_cast<uint8_t>(seq >> (8 * i));
  return nonce;
}

}  // namespace

Result<FrameCipher> FrameCipher::create(const SecretBytes& key, ByteView channel_id,
                                        ByteView transmission_id) {
  if (key.size() != kFrameKeySize) return Status::invalid_argument("voice key must be 32 bytes");
  if (sodium_init() < 0) return Status::internal("libsodium failed to initialise");
  Bytes header(kAadLabel, kAadLabel + sizeof kAadLabel - 1);
  header.insert(header.end(), channel_id.begin(), channel_id.end());
  header.insert(header.end(), transmission_id.begin(), transmission_id.end());
  return FrameCipher(SecretBytes::copy_of(key.view()), std::move(header));
}

Bytes FrameCipher::aad(uint64_t seq) const {
  Bytes out = header_;
  append_be64(out, seq);
  return out;
}

Bytes FrameCipher::seal(uint64_t seq, ByteView packet) const {
  Bytes out(packet.size() + kFrameTagSize);
  const Bytes header = aad(seq);
  const auto nonce = nonce_of(seq);
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &written, packet.data(), packet.size(),
                                            header.data(), header.size(), nullptr, nonce.data(),
                                            key_.view().data());
  out.resize(written);
  return out;
}

Result<Bytes> FrameCipher::open(uint64_t seq, ByteView sealed) const {
  if (sealed.size() < kFrameTagSize) return Status::auth_failed("voice frame too short");
  Bytes out(sealed.size() - kFrameTagSize);
  const Bytes header = aad(seq);
  const auto nonce = nonce_of(seq);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &written, nullptr, sealed.data(),
                                                sealed.size(), header.data(), header.size(),
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
