// VoiceMessaging: what the voice side needs of messaging, and all it may ask of it (doc/guide.md,
// Push-to-talk voice). Voice depends on messaging in this one direction: the channel and its
// members, VoiceStart and the clip under our sender key, archiving a clip heard whole, and frames
// to members. Messaging holds no reference to voice; what it decrypts for voice leaves it as a
// VoiceSignal that the node routes, and a roster change reaches voice through the node's roster
// hook (both inside a Messenger transaction).
//
// Thread-safety: the node's loop thread only. REQUIRES: nothing that writes (opening or closing
// a transmission, archiving a clip) from inside a Messenger transaction; reads (name_of,
// is_member) may be asked there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "src/core/voice_types.h"

namespace sotto::core {

class VoiceMessaging {
 public:
  virtual ~VoiceMessaging() = default;

  // A channel we are a member of, by the name people type. InvalidArgument otherwise.
  virtual Result<VoiceChannel> voice_channel(const std::string& channel) = 0;
  // True when we are a member of the channel and `fingerprint` is on its roster.
  virtual bool is_voice_member(ByteView channel_id, const std::string& fingerprint) = 0;
  // A member's or contact's display name (the fingerprint's start when unknown).
  virtual std::string name_of(const std::string& fingerprint) = 0;
  // Draws the transmission key and id, sends VoiceStart under our sender key to the members
  // online now. InvalidArgument for an unknown channel or one we are not a member of.
  virtual Result<TransmissionStart> open_transmission(const std::string& channel, uint32_t frame_ms,
                                                      uint32_t bitrate, int64_t started_at_us) = 0;
  // Signs and archives the clip, sends VoiceEnd to the live members and queues the whole clip
  // for every member since the start (those who heard it all acknowledge it at once, so it goes
  // only to the rest).
  virtual Result<MessageInfo> close_transmission(const TransmissionEnd& end) = 0;
  // A member's clip we heard whole: archived (talker signature checked) and acknowledged, so
  // the talker's outbox does not send it again. nullopt when it was archived already.
  virtual Result<std::optional<ArchivedClip>> archive_heard_clip(const std::string& from,
                                                                 ByteView channel_id,
                                                                 const HeardClip& clip,
                                                                 ByteView signature) = 0;
  // One live frame to a member, sent without waiting: false when it was dropped (a slow peer's
  // queue is full, or it is gone).
  virtual bool send_live(const std::string& fingerprint, ByteView frame) = 0;
};

}  // namespace sotto::core
