// A voice clip: the Opus packets of one transmission, as archived and as signed (doc/guide.md,
// Push-to-talk voice).
//
// Packet encoding (VoiceClip.packets and the archive's blob), frame after frame in seq order:
//   length (2, big-endian) | Opus packet
// Every frame of a complete clip is present, so position is the sequence number.
//
// The talker signs (identity key, XEdDSA) the clip's signing input:
//   "sotto voice clip v1" || channel id || transmission id || sample rate, frame ms, bitrate,
//   frame count (4 bytes big-endian each) || SHA-256(packet encoding)
// Receivers who heard every frame live rebuild the same encoding and check the signature against
// it; anything lost or altered makes it fail, and the clip then comes through the outbox.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::voice {

// The longest Opus packet a clip stores (Opus's own limit for one frame is 1275 bytes).
constexpr size_t kMaxPacketBytes = 1275;

struct ClipFormat {
  Bytes channel_id;
  Bytes transmission_id;
  uint32_t sample_rate = 48'000;
  uint32_t frame_ms = 20;
  uint32_t bitrate = 24'000;
};

Bytes encode_packets(const std::vector<Bytes>& packets);
// Corruption when the bytes are not a sequence of length-prefixed packets of 1..1275 bytes.
Result<std::vector<Bytes>> decode_packets(ByteView encoded);
// What the talker signs; `encoded_packets` is encode_packets' output.
Bytes clip_signing_input(const ClipFormat& format, uint32_t frames, ByteView encoded_packets);

}  // namespace sotto::voice
