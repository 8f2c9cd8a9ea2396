#include "src/core/clip_player.h"

#include <ctime>

#include "sotto/base/display_text.h"
#include "sotto/voice/clip.h"
#include "sotto/voice/ogg_opus.h"
#include "sotto/voice/opus_codec.h"
#include "sotto/voice/wav.h"

namespace sotto::core {
namespace {

// ISO 8601 in UTC, to the second: "2026-12-05T12:05:16Z".
std::string iso8601_utc(int64_t wall_ms) {
  const std::time_t seconds = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  char text[32] = "";
  if (::gmtime_r(&seconds, &tm) != nullptr) std::strftime(text, sizeof text, "%FT%TZ", &tm);
  return text;
}

// The OpusHead and OpusTags of a clip. The pre-skip is the delay of the encoder the talker ran:
// asked of an encoder with the clip's own settings rather than recorded with the clip, because
// sotto's encoder profile (48 kHz, VOIP, hard CBR) fixes it (312 samples: 2.5 ms of look-ahead
// and 4 ms of delay compensation), whatever the bitrate and the frame length, so every archived
// clip, older ones too, gets the right value without a schema change.
Result<voice::OggOpusStream> ogg_stream_of(const ArchivedClip& archived) {
  const storage::VoiceClipRecord& clip = archived.clip;
  SOTTO_ASSIGN_OR_RETURN(voice::OpusEncoder encoder,
                         voice::OpusEncoder::create(
                             {static_cast<int>(clip.frame_ms), static_cast<int>(clip.bitrate)}));
  SOTTO_ASSIGN_OR_RETURN(voice::EncoderSettings settings, encoder.settings());
  const MessageInfo& m = archived.message;
  voice::OggOpusStream stream;
  // A serial from the transmission id: one export of a clip is the same bytes as the next.
  for (size_t i = 0; i < 4 && i < clip.transmission_id.size(); ++i) {
    stream.serial = stream.serial << 8 | clip.transmission_id[i];
  }
  stream.input_rate_hz = static_cast<uint32_t>(clip.sample_rate);
  stream.pre_skip = static_cast<uint16_t>(settings.lookahead_samples);
  stream.vendor = "sotto (Opus packets as transmitted, not re-encoded)";
  // Names come from peers and the tags end up in terminals (opusinfo): neutralised as everywhere.
  stream.tags = {"TITLE=voice clip on #" + display_text(m.channel),
                 "ARTIST=" + display_text(m.sender_name),
                 "SOTTO_TALKER_FINGERPRINT=" + m.sender,
                 "SOTTO_CHANNEL=#" + display_text(m.channel),
                 "DATE=" + iso8601_utc(m.sent_at),
                 "SOTTO_MESSAGE_ID=" + m.id,
                 std::string("SOTTO_SIGNATURE=") +
                     (archived.signature_valid ? "valid" : "does not verify: altered")};
  return stream;
}

}  // namespace

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

Result<Bytes> encode_ogg_clip(const ArchivedClip& clip) {
  SOTTO_ASSIGN_OR_RETURN(auto packets, voice::decode_packets(clip.clip.packets));
  SOTTO_ASSIGN_OR_RETURN(voice::OggOpusStream stream, ogg_stream_of(clip));
  return voice::encode_ogg_opus(stream, packets);
}

Result<PlayedClip> play_clip(const ArchivedClip& clip, const std::string& out,
                             VoiceFileFormat format) {
  const bool wav = format == VoiceFileFormat::kWav;
  if (out.empty()) {
    return Status::invalid_argument(wav ? "no output file given (--wav OUT)"
                                        : "no output file given (--ogg OUT)");
  }
  PlayedClip played;
  played.message = clip.message;
  played.signature_valid = clip.signature_valid;
  if (wav) {
    SOTTO_ASSIGN_OR_RETURN(std::vector<int16_t> pcm, decode_clip(clip.clip));
    SOTTO_RETURN_IF_ERROR(voice::write_wav(out, pcm));
    const int64_t frame_samples = 48 * clip.clip.frame_ms;  // every packet decodes to one frame
    played.frames = frame_samples > 0 ? static_cast<int64_t>(pcm.size()) / frame_samples : 0;
    played.wav = out;
  } else {
    SOTTO_ASSIGN_OR_RETURN(auto packets, voice::decode_packets(clip.clip.packets));
    SOTTO_ASSIGN_OR_RETURN(voice::OggOpusStream stream, ogg_stream_of(clip));
    SOTTO_RETURN_IF_ERROR(voice::write_ogg_opus(out, stream, packets));
    played.frames = static_cast<int64_t>(packets.size());
    played.ogg = out;
  }
  played.duration_ms = played.frames * clip.clip.frame_ms;
  return played;
}

}  // namespace sotto::core
