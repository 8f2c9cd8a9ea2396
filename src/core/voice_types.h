// What messaging (keys, archive, outbox) and the voice side (live audio) hand each other about a
// voice transmission (doc/guide.md, Push-to-talk voice). Not an interface outside src/core.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/core/events.h"
#include "sotto/storage/voice_clip_repo.h"

namespace sotto::core {

struct VoiceChannel {
  Bytes id;
  std::string name;
  bool free_voice = false;
};

// A transmission we begin: VoiceStart has gone (under our sender key) to `recipients`.
struct TransmissionStart {
  VoiceChannel channel;
  Bytes transmission_id;
  SecretBytes key;
  int64_t started_at_us = 0;
  std::vector<std::string> recipients;  // fingerprints of the members online at the start
  std::vector<std::string> members;     // every member at the start but us
};

// A transmission we finished, for the archive and the members who missed it.
struct TransmissionEnd {
  VoiceChannel channel;
  Bytes transmission_id;
  uint32_t frame_ms = 20;
  uint32_t bitrate = 24'000;
  int64_t started_at_us = 0;
  std::vector<Bytes> packets;  // seq order, every frame
  Bytes timing;                // 4 bytes LE per frame: ms after the first
  // Members online at the start, sent each frame (one their socket refused is counted, not
  // tracked: the clip from the outbox, acknowledged, is what makes up for it).
  std::vector<std::string> live;
  std::vector<std::string> members;  // every member at the start but us (TransmissionStart)
};

// What a listener heard of a transmission, complete (every frame, authentic).
struct HeardClip {
  wire::VoiceStart start;  // key cleared
  std::vector<Bytes> packets;
  Bytes timing;
};

// A clip from the archive, with its verdict.
struct ArchivedClip {
  MessageInfo message;
  storage::VoiceClipRecord clip;
  bool signature_valid = false;
};

// Voice content a member sent on a channel, as the Messenger decrypted and checked it (under the
// member's sender key, for this very channel): a transmission begins, it ends, or its whole clip
// came through the outbox and is archived. The Messenger emits these and keeps no live state; the
// node routes them to the voice side.
struct VoiceSignal {
  std::string from;
  VoiceChannel channel;
  std::variant<wire::VoiceStart, wire::VoiceEnd, ArchivedClip> content;
};

}  // namespace sotto::core
