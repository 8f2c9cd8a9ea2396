#include "src/core/voice_clips.h"
#include "src/core/account_internals.h"

#include <algorithm>
#include <cctype>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/outbox_repo.h"
#include "sotto/voice/clip.h"
#include "src/core/channel_relay.h"
#include "src/core/channel_service.h"
#include "src/core/contact_book.h"
#include "src/core/message_ledger.h"
#include "src/core/message_view.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/core/sender_keys.h"
#include "src/core/voice_clip_content.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

VoiceChannel to_voice_channel(const storage::ChannelRecord& channel) {
  return VoiceChannel{channel.id, channel.name, channel.free_voice};
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

VoiceClips::VoiceClips(Account& account, const Clock& clock, const MessengerHooks& hooks,
                       ContactBook& contacts, MessageLedger& ledger, SenderKeys& keys,
                       ChannelService& channels, ChannelRelay& relay)
    : account_(account),
      clock_(clock),
      hooks_(hooks),
      contacts_(contacts),
      ledger_(ledger),
      keys_(keys),
      channels_(channels),
      relay_(relay) {}

Result<VoiceChannel> VoiceClips::member_channel(const std::string& channel_name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, channels_.resolve(channel_name));
  if (channel.state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are not a member of #" + channel.name);
  }
  return to_voice_channel(channel);
}

bool VoiceClips::is_member(ByteView channel_id, const std::string& fingerprint) {
  storage::ChannelRepo repo(AccountInternals::db(account_));
  auto channel = repo.find(channel_id);
  if (!channel.is_ok() || !channel.value() ||
      channel.value()->state != storage::ChannelState::kMember) {
    return false;
  }
  auto member = repo.is_member(channel_id, fingerprint);
  return member.is_ok() && member.value();
}

Result<TransmissionStart> VoiceClips::open(const std::string& channel_name, uint32_t frame_ms,
                                           uint32_t bitrate, int64_t started_at_us) {
  SOTTO_ASSIGN_OR_RETURN(VoiceChannel checked, member_channel(channel_name));
  SOTTO_ASSIGN_OR_RETURN(auto found,
                         storage::ChannelRepo(AccountInternals::db(account_)).find(checked.id));
  if (!found) return Status::internal("channel vanished");
  storage::ChannelRecord channel = *found;
  TransmissionStart opened;
  opened.channel = to_voice_channel(channel);
  opened.transmission_id = crypto::random_bytes(net::kMessageIdSize);
  opened.key = SecretBytes(net::kVoiceKeySize);
  crypto::random_bytes(std::span<uint8_t>(opened.key.data(), opened.key.size()));
  opened.started_at_us = started_at_us;
  Status done = ledger_.in_transaction([&](Effects& effects) {
    SOTTO_RETURN_IF_ERROR(channels_.rotate_if_worn(channel, effects));
    wire::Content content;
    *content.mutable_voice_start() =
        voice_start_of(channel.id, opened.transmission_id, frame_ms, bitrate, started_at_us);
    content.mutable_voice_start()->set_key(opened.key.chars().data(), opened.key.size());
    SOTTO_ASSIGN_OR_RETURN(Bytes frame, keys_.group_frame(channel, opened.transmission_id,
                                                          std::move(content), effects));
    SOTTO_ASSIGN_OR_RETURN(
        auto members, storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
    for (const auto& m : members) {
      if (m.fingerprint == account_.fingerprint()) continue;
      opened.members.push_back(m.fingerprint);
      if (!is_online(hooks_.peer(m.fingerprint))) continue;
      opened.recipients.push_back(m.fingerprint);
      effects.live.emplace_back(m.fingerprint, frame);
    }
    return Status::ok();
  });
  if (!done.is_ok()) return done;
  hooks_.count(Counter::voice_transmissions_started, 1);
  return opened;
}

Result<MessageInfo> VoiceClips::close(const TransmissionEnd& end) {
  if (end.packets.empty()) return Status::invalid_argument("the transmission has no audio");
  SOTTO_ASSIGN_OR_RETURN(auto fresh,
                         storage::ChannelRepo(AccountInternals::db(account_)).find(end.channel.id));
  if (!fresh || fresh->state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + end.channel.name);
  }
  storage::ChannelRecord channel = *fresh;
  const auto frames = static_cast<uint32_t>(end.packets.size());
  const wire::VoiceStart start =
      voice_start_of(channel.id, end.transmission_id, end.frame_ms, end.bitrate, end.started_at_us);
  const Bytes encoded = voice::encode_packets(end.packets);
  SOTTO_ASSIGN_OR_RETURN(Bytes signature, AccountInternals::signal(account_).sign(
                                              clip_signing_input(start, frames, encoded)));
  storage::MessageRecord message = clip_message(start, frames);
  message.conversation = conversation_of(channel);
  message.sender = account_.fingerprint();
  message.outgoing = true;
  message.received_at = clock_.wall_ms();
  message.state = storage::MessageState::kPending;
  Status done = ledger_.in_transaction([&](Effects& effects) {
    SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                           storage::MessageRepo(AccountInternals::db(account_)).insert(message));
    if (!row) return Status::internal("transmission id collision");
    message.row_id = *row;
    SOTTO_RETURN_IF_ERROR(storage::VoiceClipRepo(AccountInternals::db(account_))
                              .insert(clip_record(*row, start, account_.identity_key(), frames,
                                                  encoded, end.timing, signature)));
    SOTTO_RETURN_IF_ERROR(channels_.rotate_if_worn(channel, effects));
    SOTTO_RETURN_IF_ERROR(send_clip(channel, end, *row, start, encoded, signature, effects));
    effects.events.push_back(Event{
        clock_.wall_ms(),
        MessageEvent{message_info(message, account_.name(), Trust::kVerified, channel.name)}});
    return Status::ok();
  });
  if (!done.is_ok()) return done;
  hooks_.count(Counter::voice_clips_archived, 1);
  return message_info(message, account_.name(), Trust::kVerified, channel.name);
}

Status VoiceClips::send_clip(storage::ChannelRecord& channel, const TransmissionEnd& end,
                             int64_t row, const wire::VoiceStart& start, const Bytes& encoded,
                             ByteView signature, Effects& effects) {
  const auto frames = static_cast<uint32_t>(end.packets.size());
  // The clip is numbered like a text, so members can relay it (ChannelRelay): live listeners
  // from its VoiceEnd (sealing the packets under relay_key), the others as the VoiceClip is.
  storage::ChannelCopy copy;
  SOTTO_ASSIGN_OR_RETURN(copy.seq, relay_.number_own(channel.id));
  const auto seq = static_cast<uint64_t>(copy.seq);
  const Bytes relay_key = crypto::random_bytes(kRelayKeySize);
  storage::ChannelCopy end_copy = copy;  // numbers the VoiceEnd's envelope; not kept
  SOTTO_ASSIGN_OR_RETURN(
      Bytes end_frame,
      keys_.group_frame(channel, end.transmission_id,
                        voice_end_content(start, frames, signature, seq, relay_key), effects,
                        &end_copy));
  SOTTO_ASSIGN_OR_RETURN(
      Bytes clip_frame,
      keys_.group_frame(channel, end.transmission_id,
                        voice_clip_content(start, encoded, frames, signature, seq), effects,
                        &copy));
  copy.message_row = row;
  SOTTO_RETURN_IF_ERROR(relay_.keep(copy));
  storage::OutboxRepo outbox(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(outbox.add_shared_frame(row, net::frame_without_padding(clip_frame)));
  SOTTO_ASSIGN_OR_RETURN(auto members,
                         storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
  for (const auto& m : members) {
    // Only who may hear it from its start to its end: a member invited meanwhile would get
    // what was said before it joined, and one removed meanwhile is no longer a member.
    if (m.fingerprint == account_.fingerprint() || !contains(end.members, m.fingerprint)) continue;
    const bool live = contains(end.live, m.fingerprint);
    if (live) effects.live.emplace_back(m.fingerprint, end_frame);
    SOTTO_ASSIGN_OR_RETURN(int64_t outbox_id, outbox.add_shared_to(row, m.fingerprint));
    // Held for a live listener: it goes only from the outbox, if no receipt comes. No copy of
    // the 256 KiB frame each (64 fresh pages to fault in, per listener).
    effects.out.push_back({m.fingerprint, outbox_id, row, live ? Bytes() : clip_frame, live});
  }
  return Status::ok();
}

Status VoiceClips::receive(const std::string& from, const storage::ChannelRecord& channel,
                           const wire::Content& content, Effects& effects, bool relayed,
                           int64_t* archived_row) {
  auto wrong_channel = [&](const std::string& channel_id, const std::string& transmission_id) {
    return channel_id != as_chars(channel.id) || transmission_id.size() != net::kMessageIdSize;
  };
  auto signal = [&](auto voice_content) {
    if (hooks_.voice_signal) {
      hooks_.voice_signal(VoiceSignal{from, to_voice_channel(channel), std::move(voice_content)});
    }
    return Status::ok();  // VoiceStart and VoiceEnd are not archived: nothing to acknowledge
  };
  switch (content.body_case()) {
    case wire::Content::kVoiceStart: {
      const wire::VoiceStart& start = content.voice_start();
      if (wrong_channel(start.channel_id(), start.transmission_id())) break;
      hooks_.count(Counter::voice_starts_received, 1);
      return signal(start);
    }
    case wire::Content::kVoiceEnd: {
      const wire::VoiceEnd& end = content.voice_end();
      if (wrong_channel(end.channel_id(), end.transmission_id())) break;
      return signal(end);
    }
    case wire::Content::kVoiceClip: {
      const wire::VoiceClip& clip = content.voice_clip();
      if (wrong_channel(clip.start().channel_id(), clip.start().transmission_id())) break;
      auto packets = voice::decode_packets(as_bytes(clip.packets()));
      if (!packets.is_ok() || packets.value().size() != clip.frames()) {
        hooks_.count(Counter::voice_clips_rejected, 1);
        return Status::corruption("voice clip packets do not match its frame count");
      }
      SOTTO_ASSIGN_OR_RETURN(auto archived,
                             archive(from, channel, clip.start(), packets.value(),
                                     nominal_timing(clip.frames(), clip.start().frame_ms()),
                                     as_bytes(clip.signature()), effects, !relayed));
      if (archived && archived_row != nullptr) *archived_row = archived->clip.message_row;
      return archived ? signal(std::move(*archived)) : Status::ok();
    }
    default:
      break;
  }
  hooks_.count(Counter::group_dropped_content, 1);
  return Status::corruption("voice message does not match its channel");
}

Result<std::optional<ArchivedClip>> VoiceClips::archive_heard(
    const std::string& from, ByteView channel_id, const HeardClip& clip, ByteView signature,
    const std::function<Status(int64_t row)>& also) {
  SOTTO_ASSIGN_OR_RETURN(auto channel,
                         storage::ChannelRepo(AccountInternals::db(account_)).find(channel_id));
  if (!channel || channel->state != storage::ChannelState::kMember) {
    return Status::unavailable("no longer a member of the channel the clip was heard on");
  }
  std::optional<ArchivedClip> archived;
  SOTTO_RETURN_IF_ERROR(ledger_.in_transaction([&](Effects& effects) {
    SOTTO_ASSIGN_OR_RETURN(archived, archive(from, *channel, clip.start, clip.packets, clip.timing,
                                             signature, effects));
    if (archived && also) return also(archived->clip.message_row);
    return Status::ok();
  }));
  return archived;
}

Result<std::optional<int64_t>> VoiceClips::archive_relayed(const std::string& from,
                                                           const storage::ChannelRecord& channel,
                                                           const wire::RelayedClip& clip,
                                                           ByteView signature, Effects& effects) {
  auto packets = voice::decode_packets(as_bytes(clip.packets()));
  if (!packets.is_ok() || packets.value().size() != clip.frames() || clip.frames() == 0) {
    hooks_.count(Counter::voice_clips_rejected, 1);
    return Status::corruption("relayed clip packets do not match its frame count");
  }
  wire::VoiceStart start = clip.start();
  start.clear_key();
  SOTTO_ASSIGN_OR_RETURN(auto archived, archive(from, channel, start, packets.value(),
                                                nominal_timing(clip.frames(), start.frame_ms()),
                                                signature, effects, false));
  if (!archived) return std::optional<int64_t>();
  const int64_t row = archived->clip.message_row;
  if (hooks_.voice_signal) {
    hooks_.voice_signal(VoiceSignal{from, to_voice_channel(channel), std::move(*archived)});
  }
  return std::optional<int64_t>(row);
}

Result<std::optional<ArchivedClip>> VoiceClips::archive(const std::string& from,
                                                        const storage::ChannelRecord& channel,
                                                        const wire::VoiceStart& start,
                                                        const std::vector<Bytes>& packets,
                                                        const Bytes& timing, ByteView signature,
                                                        Effects& effects, bool acknowledge) {
  SOTTO_ASSIGN_OR_RETURN(auto members,
                         storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
  auto talker = std::find_if(members.begin(), members.end(),
                             [&](const auto& m) { return m.fingerprint == from; });
  if (talker == members.end()) return Status::unavailable("the talker is not on the roster");
  Bytes encoded = voice::encode_packets(packets);
  const auto frames = static_cast<uint32_t>(packets.size());
  if (!crypto::SignalEngine::verify(talker->identity_key,
                                    clip_signing_input(start, frames, encoded), signature)) {
    hooks_.count(Counter::voice_clips_rejected, 1);
    return Status::corruption("voice clip signature does not verify with the talker's key");
  }
  storage::MessageRecord record = clip_message(start, frames);
  record.conversation = conversation_of(channel);
  record.sender = from;
  record.received_at = clock_.wall_ms();
  record.state = storage::MessageState::kReceived;
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(AccountInternals::db(account_)).insert(record));
  if (acknowledge) effects.receipts[from].push_back(record.message_id);
  if (!row) {
    hooks_.count(Counter::message_duplicates, 1);
    return std::optional<ArchivedClip>();
  }
  record.row_id = *row;
  ArchivedClip archived;
  archived.clip =
      clip_record(*row, start, talker->identity_key, frames, std::move(encoded), timing, signature);
  SOTTO_RETURN_IF_ERROR(
      storage::VoiceClipRepo(AccountInternals::db(account_)).insert(archived.clip));
  hooks_.count(Counter::voice_clips_archived, 1);
  auto contact = storage::ContactRepo(AccountInternals::db(account_)).find(from);
  const Trust trust =
      contact.is_ok() && contact.value() ? trust_of(contact.value()->trust) : Trust::kUnverified;
  archived.message = message_info(record, contacts_.name_of(from), trust, channel.name);
  archived.signature_valid = true;
  effects.events.push_back(Event{clock_.wall_ms(), MessageEvent{archived.message}});
  return std::optional<ArchivedClip>(std::move(archived));
}

Result<ArchivedClip> VoiceClips::find(const std::string& id_prefix) {
  if (id_prefix.empty() || !std::all_of(id_prefix.begin(), id_prefix.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    return Status::invalid_argument("a message id is hex digits: '" + id_prefix + "' is not");
  }
  storage::VoiceClipRepo clips(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto rows, clips.rows_with_id_prefix(id_prefix));
  if (rows.empty()) return Status::invalid_argument("no voice clip with id " + id_prefix);
  if (rows.size() > 1) {
    return Status::invalid_argument("id " + id_prefix + " matches " + std::to_string(rows.size()) +
                                    " voice clips: give more digits");
  }
  ArchivedClip out;
  SOTTO_ASSIGN_OR_RETURN(auto clip, clips.find(rows.front()));
  SOTTO_ASSIGN_OR_RETURN(auto message,
                         storage::MessageRepo(AccountInternals::db(account_)).get(rows.front()));
  if (!clip || !message) return Status::not_found("no voice clip with id " + id_prefix);
  out.clip = std::move(*clip);
  std::string channel_name;
  auto channel = storage::ChannelRepo(AccountInternals::db(account_)).find(out.clip.channel_id);
  if (channel.is_ok() && channel.value()) channel_name = channel.value()->name;
  out.message =
      message_info(*message, contacts_.name_of(message->sender), Trust::kUnverified, channel_name);
  out.signature_valid = clip_signature_valid(out.clip);
  return out;
}

}  // namespace sotto::core
