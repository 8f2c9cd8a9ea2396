#include "sotto/voice/clip.h"

#include <sodium.h>

namespace sotto::voice {
namespace {

constexpr char kClipLabel[] = "sotto voice clip v1";

}  // namespace

Bytes encode_packets(const std::vector<Bytes>& packets) {
  Bytes out;
  size_t total = 0;
  for (const Bytes& p : packets) total += 2 + p.size();
  out.reserve(total);
  for (const Bytes& p : packets) {
    out.push_back(static_cast<uint8_t>(p.size() >> 8));
    out.push_back(static_cast<uint8_t>(p.size()));
    out.insert(out.end(), p.begin(), p.end());
  }
  return out;
}

Result<std::vector<Bytes>> decode_packets(ByteView encoded) {
  std::vector<Bytes> packets;
  size_t at = 0;
  while (at < encoded.size()) {
    if (encoded.size() - at < 2) return Status::corruption("voice clip: truncated length");
    const size_t size = (static_cast<size_t>(encoded[at]) << 8) | encoded[at + 1];
    at += 2;
    if (size == 0 || size > kMaxPacketBytes || encoded.size() - at < size) {
      return Status::corruption("voice clip: bad packet length");
    }
    packets.emplace_back(encoded.begin() + static_cast<std::ptrdiff_t>(at),
                         encoded.begin() + static_cast<std::ptrdiff_t>(at + size));
    at += size;
  }
  return packets;
}

Bytes clip_signing_input(const ClipFormat& format, uint32_t frames, ByteView encoded_packets) {
  Bytes out(kClipLabel, kClipLabel + sizeof kClipLabel - 1);
  out.insert(out.end(), format.channel_id.begin(), format.channel_id.end());
  out.insert(out.end(), format.transmission_id.begin(), format.transmission_id.end());
  append_be32(out, format.sample_rate);
  append_be32(out, format.frame_ms);
  append_be32(out, format.bitrate);
  append_be32(out, frames);
  // libsodium's SHA-256, not crypto's: voice sits beside crypto, not above it (STYLE.md).
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, encoded_packets.data(), encoded_packets.size());
  out.insert(out.end(), digest, digest + sizeof digest);
  return out;
}

}  // namespace sotto::voice
