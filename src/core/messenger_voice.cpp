// Messenger: what the voice side may ask of messaging (voice_messaging.h, doc/guide.md,
// Push-to-talk voice). VoiceClips (voice_clips.h) owns the keys, the archive and the outbox behind
// it; the Messenger only hands on, and sends live frames through the node.
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"

namespace sotto::core {

Result<VoiceChannel> Messenger::voice_channel(const std::string& channel_name) {
  return clips_.member_channel(channel_name);
}

bool Messenger::is_voice_member(ByteView channel_id, const std::string& fingerprint) {
  return clips_.is_member(channel_id, fingerprint);
}

bool Messenger::send_live(const std::string& fingerprint, ByteView frame) {
  return hooks_.send_live ? hooks_.send_live(fingerprint, frame)
                          : hooks_.send_frame(fingerprint, frame);
}

Result<TransmissionStart> Messenger::open_transmission(const std::string& channel_name,
                                                       uint32_t frame_ms, uint32_t bitrate,
                                                       int64_t started_at_us) {
  return clips_.open(channel_name, frame_ms, bitrate, started_at_us);
}

Result<MessageInfo> Messenger::close_transmission(const TransmissionEnd& end) {
  return clips_.close(end);
}

Result<std::optional<ArchivedClip>> Messenger::archive_heard_clip(const std::string& from,
                                                                  ByteView channel_id,
                                                                  const HeardClip& clip,
                                                                  ByteView signature) {
  const std::pair<std::string, Bytes> key{from, bytes_of(clip.start.transmission_id())};
  return clips_.archive_heard(from, channel_id, clip, signature, [&](int64_t row) {
    auto heard = heard_ends_.find(key);
    if (heard == heard_ends_.end()) return Status::ok();
    HeardEnd end = std::move(heard->second);
    heard_ends_.erase(heard);
    return keep_copy(end.item, end.origin, channel_id, row, std::move(end.relay_key));
  });
}

Result<ArchivedClip> Messenger::find_clip(const std::string& id_prefix) {
  return clips_.find(id_prefix);
}

}  // namespace sotto::core
