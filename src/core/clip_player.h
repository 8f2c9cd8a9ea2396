// Writing an archived voice clip out for `sotto play` and `sotto export` (node and offline alike).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "src/core/voice_types.h"

namespace sotto::core {

// Writes the clip to the file `out`: a 48 kHz mono WAV file (every packet decoded, no fades: the
// talker's own decode, sample for sample) or an Ogg Opus file (encode_ogg_clip); reports the
// signature's verdict. InvalidArgument when `out` is empty; IoError when it cannot be written.
Result<PlayedClip> play_clip(const ArchivedClip& clip, const std::string& out,
                             VoiceFileFormat format);

// The WAV decode, as 48 kHz mono samples (export writes them where it wants them).
Result<std::vector<int16_t>> decode_clip(const storage::VoiceClipRecord& clip);

// The bytes of an Ogg Opus file (voice/ogg_opus.h) holding the clip's packets as archived, tagged
// with its talker, channel, time and the signature's verdict. Corruption for a damaged clip.
Result<Bytes> encode_ogg_clip(const ArchivedClip& clip);

}  // namespace sotto::core
