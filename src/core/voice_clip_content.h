// The pieces a voice clip is made of (doc/guide.md, Push-to-talk voice): the VoiceStart that
// announces it, the talker's signature input, the archive's rows, and the VoiceEnd and VoiceClip
// that carry it. Pure functions: the Messenger (messenger_voice.cpp) encrypts, stores and sends
// them.
//
// Thread-safety: any thread.
#pragma once

#include <cstdint>
#include <string>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/voice_clip_repo.h"

namespace sotto::core {

// The announcement of a transmission (without its key).
wire::VoiceStart voice_start_of(ByteView channel_id, ByteView transmission_id, uint32_t frame_ms,
                                uint32_t bitrate, int64_t started_at_us);
// What the talker signs: the clip's format, its frame count and its encoded packets.
Bytes clip_signing_input(const wire::VoiceStart& start, uint32_t frames, ByteView encoded);
// True when `clip.signature` is the talker's over it.
bool clip_signature_valid(const storage::VoiceClipRecord& clip);
// The clip's row in the archive (its sender's, its conversation's, and its state are the
// caller's).
storage::MessageRecord clip_message(const wire::VoiceStart& start, uint32_t frames);
storage::VoiceClipRecord clip_record(int64_t row, const wire::VoiceStart& start,
                                     const Bytes& talker_key, uint32_t frames, Bytes encoded,
                                     Bytes timing, ByteView signature);
// The timing of a clip heard by no one here: the talker's nominal one.
Bytes nominal_timing(uint32_t frames, uint32_t frame_ms);
// `seq`: the clip's number in our channel numbering; `relay_key`: what listeners seal the clip
// with to relay it (seal_relayed_clip).
wire::Content voice_end_content(const wire::VoiceStart& start, uint32_t frames, ByteView signature,
                                uint64_t seq, ByteView relay_key);
wire::Content voice_clip_content(const wire::VoiceStart& start, ByteView encoded, uint32_t frames,
                                 ByteView signature, uint64_t seq);

// A clip heard live, sealed to be relayed (sotto.proto, GroupMessage.clip) under a key derived
// from its VoiceEnd's relay_key, bound to its channel and transmission; and opened again.
constexpr size_t kRelayKeySize = 32;
Result<Bytes> seal_relayed_clip(ByteView relay_key, const wire::RelayedClip& clip);
Result<wire::RelayedClip> open_relayed_clip(ByteView relay_key, ByteView channel_id,
                                            ByteView transmission_id, ByteView sealed);

}  // namespace sotto::core
