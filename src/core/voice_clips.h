// VoiceClips: voice transmissions (doc/guide.md, Push-to-talk voice), messaging's side — the keys,
// the archive and the outbox behind what the voice side may ask (voice_messaging.h). The live audio
// is the voice side's, and messaging knows nothing of it: what it decrypts for voice leaves as a
// VoiceSignal.
//
//   start:   VoiceStart (the fresh transmission key) under our channel sender key, straight to
//            the members online now — a transmission is live, it is not queued.
//   end:     the talker signs the clip (voice/clip.h) and archives it; VoiceEnd goes to the live
//            members; the whole clip (VoiceClip) is queued in the outbox for every member who
//            was one at the start and still is, and counted as already sent to the live ones.
//            Each listener who heard every frame archives the clip after VoiceEnd and
//            acknowledges it, so the retry never goes to them; members who were offline, or lost
//            frames, get the clip from the outbox like text.
//   archive: a clip is stored only with a valid talker signature, once per (talker, id).
//
// Built on the Messenger's owners: ChannelService (channels, sender key rotation), SenderKeys
// (the frames), MessageLedger (the transactions), ContactBook (names and trust).
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/events.h"
#include "sotto/storage/channel_repo.h"
#include "src/core/commit_effects.h"
#include "src/core/voice_types.h"

namespace sotto::core {

struct MessengerHooks;
class ChannelRelay;
class ChannelService;
class ContactBook;
class MessageLedger;
class SenderKeys;

class VoiceClips {
 public:
  VoiceClips(Account& account, const Clock& clock, const MessengerHooks& hooks,
             ContactBook& contacts, MessageLedger& ledger, SenderKeys& keys,
             ChannelService& channels, ChannelRelay& relay);

  // --- for the voice side (voice_messaging.h says what each promises) ---
  Result<VoiceChannel> member_channel(const std::string& channel_name);
  bool is_member(ByteView channel_id, const std::string& fingerprint);
  Result<TransmissionStart> open(const std::string& channel_name, uint32_t frame_ms,
                                 uint32_t bitrate, int64_t started_at_us);
  Result<MessageInfo> close(const TransmissionEnd& end);
  // `also`, when given, runs inside the transaction that archived the clip, with its row.
  Result<std::optional<ArchivedClip>> archive_heard(
      const std::string& from, ByteView channel_id, const HeardClip& clip, ByteView signature,
      const std::function<Status(int64_t row)>& also = {});

  // --- inside the receive transaction ---
  // A member's voice content on `channel`: checked against the channel and handed on as a
  // VoiceSignal; a clip from the outbox archived first (its row in `archived_row`, when given).
  // `relayed`: the clip came from another member, so the receipt is not owed to anyone.
  Status receive(const std::string& from, const storage::ChannelRecord& channel,
                 const wire::Content& content, Effects& effects, bool relayed = false,
                 int64_t* archived_row = nullptr);
  // A clip `from` spoke, relayed by a member who heard it live (ChannelRelay): the talker's
  // signature over `packets` decides. Its row, or nullopt when it was archived already.
  Result<std::optional<int64_t>> archive_relayed(const std::string& from,
                                                 const storage::ChannelRecord& channel,
                                                 const wire::RelayedClip& clip, ByteView signature,
                                                 Effects& effects);

  // --- front ends ---
  // The archived clip whose message id starts with `id_prefix` (hex).
  Result<ArchivedClip> find(const std::string& id_prefix);

 private:
  // Checks the talker's signature and archives the clip once (nullopt: it was already);
  // acknowledges it.
  Result<std::optional<ArchivedClip>> archive(const std::string& from,
                                              const storage::ChannelRecord& channel,
                                              const wire::VoiceStart& start,
                                              const std::vector<Bytes>& packets,
                                              const Bytes& timing, ByteView signature,
                                              Effects& effects, bool acknowledge = true);
  // Inside close's transaction: VoiceEnd to the live members, the whole clip into the outbox
  // for the members since the start.
  Status send_clip(storage::ChannelRecord& channel, const TransmissionEnd& end, int64_t row,
                   const wire::VoiceStart& start, const Bytes& encoded, ByteView signature,
                   Effects& effects);

  Account& account_;
  const Clock& clock_;
  const MessengerHooks& hooks_;
  ContactBook& contacts_;
  MessageLedger& ledger_;
  SenderKeys& keys_;
  ChannelService& channels_;
  ChannelRelay& relay_;
};

}  // namespace sotto::core
