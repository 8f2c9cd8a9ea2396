#include "src/core/clip_player.h"

#include "sotto/voice/clip.h"
#include "sotto/voice/opus_codec.h"
#include "sotto/voice/wav.h"

namespace sotto::core {

Result<std::vector<int16_t>> decode_clip(const storage::VoiceClipRecord& clip) {
  SOTTO_ASSIGN_OR_RETURN(auto packets, voice::decode_packets(clip.packets));
  SOTTO_ASSIGN_OR_RETURN(voice::OpusDecoder decoder,
                         voice::OpusDecoder::create({static_cast<int>(clip.frame_ms)}));
  std::vector<int16_t> pcm;
  for (const Bytes& packet : packets) {
    auto frame = decoder.decode(packet);
    if (!frame.is_ok()) frame = decoder.conceal();
    if (!frame.is_ok()) return frame.status();
    pcm.insert(pcm.end(), frame.value().begin(), frame.value().end());
  }
  return pcm;
}

Result<PlayedClip> play_clip(const ArchivedClip& clip, const std::string& out) {
  if (out.empty()) return Status::invalid_argument("no output file given (--wav OUT)");
  SOTTO_ASSIGN_OR_RETURN(std::vector<int16_t> pcm, decode_clip(clip.clip));
  SOTTO_RETURN_IF_ERROR(voice::write_wav(out, pcm));
  PlayedClip played;
  played.message = clip.message;
  played.signature_valid = clip.signature_valid;
  const int64_t frame_samples = 48 * clip.clip.frame_ms;  // every packet decodes to one frame
  played.frames = frame_samples > 0 ? static_cast<int64_t>(pcm.size()) / frame_samples : 0;
  played.duration_ms = played.frames * clip.clip.frame_ms;
  played.wav = out;
  return played;
}

}  // namespace sotto::core
