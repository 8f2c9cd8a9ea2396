#include "src/core/voice_clip_content.h"

#include <algorithm>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/voice/clip.h"
#include "src/net/content.h"

namespace sotto::core {
namespace {

voice::ClipFormat clip_format(const wire::VoiceStart& start) {
  return voice::ClipFormat{Bytes(start.channel_id().begin(), start.channel_id().end()),
                           Bytes(start.transmission_id().begin(), start.transmission_id().end()),
                           start.sample_rate(), start.frame_ms(), start.bitrate()};
}

std::string clip_body(size_t frames, uint32_t frame_ms) {
  const int64_t tenths = static_cast<int64_t>(frames) * frame_ms / 100;
  return "voice clip, " + std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

}  // namespace

wire::VoiceStart voice_start_of(ByteView channel_id, ByteView transmission_id, uint32_t frame_ms,
                                uint32_t bitrate, int64_t started_at_us) {
  wire::VoiceStart start;
  start.set_transmission_id(as_chars(transmission_id).data(), transmission_id.size());
  start.set_channel_id(as_chars(channel_id).data(), channel_id.size());
  start.set_sample_rate(net::kVoiceSampleRate);
  start.set_frame_ms(frame_ms);
  start.set_bitrate(bitrate);
  start.set_started_at_us(static_cast<uint64_t>(started_at_us));
  return start;
}

Bytes clip_signing_input(const wire::VoiceStart& start, uint32_t frames, ByteView encoded) {
  return voice::clip_signing_input(clip_format(start), frames, encoded);
}

bool clip_signature_valid(const storage::VoiceClipRecord& clip) {
  const voice::ClipFormat format{
      clip.channel_id, clip.transmission_id, static_cast<uint32_t>(clip.sample_rate),
      static_cast<uint32_t>(clip.frame_ms), static_cast<uint32_t>(clip.bitrate)};
  return crypto::SignalEngine::verify(
      clip.talker_key,
      voice::clip_signing_input(format, static_cast<uint32_t>(clip.frames), clip.packets),
      clip.signature);
}

storage::MessageRecord clip_message(const wire::VoiceStart& start, uint32_t frames) {
  storage::MessageRecord message;
  message.message_id = Bytes(start.transmission_id().begin(), start.transmission_id().end());
  message.kind = storage::MessageKind::kVoice;
  message.body = clip_body(frames, start.frame_ms());
  message.sent_at = static_cast<int64_t>(start.started_at_us() / 1000);
  return message;
}

storage::VoiceClipRecord clip_record(int64_t row, const wire::VoiceStart& start,
                                     const Bytes& talker_key, uint32_t frames, Bytes encoded,
                                     Bytes timing, ByteView signature) {
  return storage::VoiceClipRecord{
      row,
      Bytes(start.channel_id().begin(), start.channel_id().end()),
      Bytes(start.transmission_id().begin(), start.transmission_id().end()),
      talker_key,
      start.sample_rate(),
      start.frame_ms(),
      start.bitrate(),
      frames,
      static_cast<int64_t>(start.started_at_us()),
      std::move(encoded),
      std::move(timing),
      Bytes(signature.begin(), signature.end())};
}

Bytes nominal_timing(uint32_t frames, uint32_t frame_ms) {
  Bytes timing;
  for (uint32_t i = 0; i < frames; ++i) append_le32(timing, i * frame_ms);
  return timing;
}

wire::Content voice_end_content(const wire::VoiceStart& start, uint32_t frames, ByteView signature,
                                uint64_t seq, ByteView relay_key) {
  wire::Content content;
  wire::VoiceEnd* end = content.mutable_voice_end();
  end->set_transmission_id(start.transmission_id());
  end->set_channel_id(start.channel_id());
  end->set_frames(frames);
  end->set_signature(as_chars(signature).data(), signature.size());
  end->set_seq(seq);
  end->set_relay_key(as_chars(relay_key).data(), relay_key.size());
  return content;
}

wire::Content voice_clip_content(const wire::VoiceStart& start, ByteView encoded, uint32_t frames,
                                 ByteView signature, uint64_t seq) {
  wire::Content content;
  wire::VoiceClip* clip = content.mutable_voice_clip();
  *clip->mutable_start() = start;
  clip->set_packets(as_chars(encoded).data(), encoded.size());
  clip->set_frames(frames);
  clip->set_signature(as_chars(signature).data(), signature.size());
  clip->set_seq(seq);
  return content;
}

namespace {

constexpr size_t kNonceSize = 12;

SecretBytes relayed_clip_key(ByteView relay_key) {
  return crypto::hkdf_sha256(relay_key, {}, "sotto relayed clip v1", 32);
}

Bytes relayed_clip_aad(ByteView channel_id, ByteView transmission_id) {
  Bytes aad(channel_id.begin(), channel_id.end());
  aad.insert(aad.end(), transmission_id.begin(), transmission_id.end());
  return aad;
}

}  // namespace

Result<Bytes> seal_relayed_clip(ByteView relay_key, const wire::RelayedClip& clip) {
  if (relay_key.size() != kRelayKeySize) return Status::invalid_argument("no relay key");
  std::string plaintext;
  if (!clip.SerializeToString(&plaintext)) return Status::internal("encoding a relayed clip");
  Bytes out = crypto::random_bytes(kNonceSize);
  const Bytes sealed = crypto::aead_seal(relayed_clip_key(relay_key), out,
                                         relayed_clip_aad(as_bytes(clip.start().channel_id()),
                                                          as_bytes(clip.start().transmission_id())),
                                         as_bytes(plaintext));
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Result<wire::RelayedClip> open_relayed_clip(ByteView relay_key, ByteView channel_id,
                                            ByteView transmission_id, ByteView sealed) {
  if (relay_key.size() != kRelayKeySize || sealed.size() <= kNonceSize) {
    return Status::corruption("a relayed clip without its key or body");
  }
  SOTTO_ASSIGN_OR_RETURN(
      Bytes plaintext,
      crypto::aead_open(relayed_clip_key(relay_key), sealed.first(kNonceSize),
                        relayed_clip_aad(channel_id, transmission_id), sealed.subspan(kNonceSize)));
  wire::RelayedClip clip;
  if (!clip.ParseFromArray(plaintext.data(), static_cast<int>(plaintext.size()))) {
    return Status::corruption("a relayed clip that does not parse");
  }
  // The sealed body names the transmission it belongs to, and that must be the VoiceEnd's.
  if (!std::ranges::equal(as_bytes(clip.start().channel_id()), channel_id) ||
      !std::ranges::equal(as_bytes(clip.start().transmission_id()), transmission_id)) {
    return Status::corruption("a relayed clip of another transmission");
  }
  return clip;
}

}  // namespace sotto::core
