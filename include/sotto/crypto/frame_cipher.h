// FrameCipher: seals and opens the frames of one voice transmission (doc/guide.md, Push-to-talk
// voice, after SFrame, RFC 9605).
//
// Each transmission has its own random 32-byte key, handed to the members inside VoiceStart under
// the channel's sender key. A frame is ChaCha20-Poly1305 (IETF, libsodium) with
//   nonce = 0x00000000 || seq (big-endian 64)        — unique because the key is used once
//   aad   = "sotto voice frame v1" || channel id || transmission id || seq (big-endian 64)
// so a frame moved to another channel, transmission or position fails to open. Frames are not
// signed one by one (a signature per 20 ms costs more than the codec): the talker signs the whole
// clip once, in VoiceEnd.
//
// ReplayWindow remembers which of the latest 64 sequence numbers were accepted, so a replayed or
// duplicated frame is refused even after it has left the jitter buffer.
//
// Thread-safety: a FrameCipher is immutable after creation (open/seal are const and reentrant);
// a ReplayWindow belongs to one thread.
#pragma once

#include <cstdint>
#include <span>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"

namespace sotto::crypto {

constexpr size_t kFrameKeySize = 32;
constexpr size_t kFrameTagSize = 16;

class FrameCipher {
 public:
  // InvalidArgument unless key is 32 bytes and the two ids together at most 64.
  static Result<FrameCipher> create(const SecretBytes& key, ByteView channel_id,
                                    ByteView transmission_id);

  // packet sealed: ciphertext || 16-byte tag.
  Bytes seal(uint64_t seq, ByteView packet) const;
  // The same, written into `out`, which a frame on its way keeps (no buffer of its own).
  // REQUIRES: out.size() == packet.size() + kFrameTagSize, and out does not overlap packet.
  void seal_into(uint64_t seq, ByteView packet, std::span<uint8_t> out) const;
  // AuthFailed when the frame was tampered with or belongs elsewhere.
  Result<Bytes> open(uint64_t seq, ByteView sealed) const;

 private:
  FrameCipher(SecretBytes key, Bytes header) : key_(std::move(key)), header_(std::move(header)) {}

  SecretBytes key_;
  Bytes header_;  // the aad's fixed prefix
};

class ReplayWindow {
 public:
  static constexpr uint64_t kSize = 64;
  // True when `seq` is new: not accepted before and not older than the window.
  bool fresh(uint64_t seq) const;
  // Records `seq` as accepted. REQUIRES: fresh(seq).
  void accept(uint64_t seq);

 private:
  bool any_ = false;
  uint64_t highest_ = 0;
  uint64_t seen_ = 0;  // bit i: highest_ - i was accepted
};

}  // namespace sotto::crypto
