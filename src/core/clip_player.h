// Decoding an archived voice clip for `sotto play` (node and offline alike).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "src/core/voice_types.h"

namespace sotto::core {

// Decodes every packet (no fades: the talker's own decode, sample for sample) into a 48 kHz mono
// WAV file at `out`, and reports the signature's verdict. IoError when `out` cannot be written.
Result<PlayedClip> play_clip(const ArchivedClip& clip, const std::string& out);

// The same decode, as 48 kHz mono samples (export writes them where it wants them).
Result<std::vector<int16_t>> decode_clip(const storage::VoiceClipRecord& clip);

}  // namespace sotto::core
