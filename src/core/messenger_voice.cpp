// Voice transmissions (DESIGN §8), the part that needs keys and the archive. The live audio
// itself (frames, jitter, playout) is the VoiceEngine's; this file handles what bounds it:
//
//   start:  VoiceStart (the fresh transmission key) under our channel sender key, straight to
//           the members online now — a transmission is live, it is not queued.
//   end:    the talker signs the clip (voice/clip.h) and archives it; VoiceEnd goes to the live
//           members; the whole clip (VoiceClip) is queued in the outbox for every member who
//           was one at the start and still is, and counted as already sent to the live ones. Each
//           listener who heard every frame archives the clip at VoiceEnd and acknowledges it, so
//           the retry never goes to them; members who were offline, or lost frames, get the clip
//           from the outbox like text.
//   archive: a clip is stored only with a valid talker signature, once per (talker, id).
#include <algorithm>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/outbox_repo.h"
#include "sotto/storage/voice_clip_repo.h"
#include "sotto/voice/clip.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

VoiceChannel to_voice_channel(const storage::ChannelRecord& channel) {
  return VoiceChannel{channel.id, channel.name, channel.free_voice};
}

voice::ClipFormat clip_format(const wire::VoiceStart& start) {
  return voice::ClipFormat{bytes_of(start.channel_id()), bytes_of(start.transmission_id()),
                           start.sample_rate(), start.frame_ms(), start.bitrate()};
}

std::string clip_body(size_t frames, uint32_t frame_ms) {
  const int64_t tenths = static_cast<int64_t>(frames) * frame_ms / 100;
  return "voice clip, " + std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

void set_start(wire::VoiceStart& start, ByteView channel_id, ByteView transmission_id,
               uint32_t frame_ms, uint32_t bitrate, int64_t started_at_us) {
  start.set_transmission_id(as_chars(transmission_id).data(), transmission_id.size());
  start.set_channel_id(as_chars(channel_id).data(), channel_id.size());
  start.set_sample_rate(net::kVoiceSampleRate);
  start.set_frame_ms(frame_ms);
  start.set_bitrate(bitrate);
  start.set_started_at_us(static_cast<uint64_t>(started_at_us));
}

}  // namespace

Result<VoiceChannel> Messenger::voice_channel(const std::string& channel_name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(channel_name));
  if (channel.state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are not a member of #" + channel.name);
  }
  return to_voice_channel(channel);
}

bool Messenger::is_voice_member(ByteView channel_id, const std::string& fingerprint) {
  storage::ChannelRepo repo(account_.db());
  auto channel = repo.find(channel_id);
  if (!channel.is_ok() || !channel.value() ||
      channel.value()->state != storage::ChannelState::kMember) {
    return false;
  }
  auto member = repo.is_member(channel_id, fingerprint);
  return member.is_ok() && member.value();
}

Result<TransmissionStart> Messenger::open_transmission(const std::string& channel_name,
                                                       uint32_t frame_ms, uint32_t bitrate,
                                                       int64_t started_at_us) {
  SOTTO_ASSIGN_OR_RETURN(VoiceChannel checked, voice_channel(channel_name));
  SOTTO_ASSIGN_OR_RETURN(auto found, storage::ChannelRepo(account_.db()).find(checked.id));
  if (!found) return Status::internal("channel vanished");
  storage::ChannelRecord channel = *found;
  TransmissionStart opened;
  opened.channel = to_voice_channel(channel);
  opened.transmission_id = crypto::random_bytes(net::kMessageIdSize);
  opened.key = SecretBytes(net::kVoiceKeySize);
  crypto::random_bytes(std::span<uint8_t>(opened.key.data(), opened.key.size()));
  opened.started_at_us = started_at_us;
  Status done = in_transaction([&](Effects& effects) {
    SOTTO_RETURN_IF_ERROR(rotate_if_worn(channel, effects));
    wire::Content content;
    wire::VoiceStart* start = content.mutable_voice_start();
    set_start(*start, channel.id, opened.transmission_id, frame_ms, bitrate, started_at_us);
    start->set_key(opened.key.chars().data(), opened.key.size());
    auto frame = group_frame(channel, opened.transmission_id, std::move(content));
    if (!frame.is_ok()) return frame.status();
    SOTTO_ASSIGN_OR_RETURN(auto members, storage::ChannelRepo(account_.db()).members(channel.id));
    for (const auto& m : members) {
      if (m.fingerprint == account_.fingerprint()) continue;
      opened.members.push_back(m.fingerprint);
      if (!is_online(hooks_.peer(m.fingerprint))) continue;
      opened.recipients.push_back(m.fingerprint);
      effects.live.emplace_back(m.fingerprint, frame.value());
    }
    return Status::ok();
  });
  if (!done.is_ok()) return done;
  hooks_.count(Counter::voice_transmissions_started, 1);
  return opened;
}

Result<MessageInfo> Messenger::close_transmission(const TransmissionEnd& end) {
  if (end.packets.empty()) return Status::invalid_argument("the transmission has no audio");
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto fresh, repo.find(end.channel.id));
  if (!fresh || fresh->state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + end.channel.name);
  }
  storage::ChannelRecord channel = *fresh;
  const auto frames = static_cast<uint32_t>(end.packets.size());
  wire::VoiceStart start;
  set_start(start, channel.id, end.transmission_id, end.frame_ms, end.bitrate, end.started_at_us);
  const Bytes encoded = voice::encode_packets(end.packets);
  SOTTO_ASSIGN_OR_RETURN(Bytes signature, account_.signal().sign(voice::clip_signing_input(
                                              clip_format(start), frames, encoded)));
  storage::MessageRecord message;
  message.message_id = end.transmission_id;
  message.conversation = conversation_of(channel);
  message.sender = account_.fingerprint();
  message.outgoing = true;
  message.kind = storage::MessageKind::kVoice;
  message.body = clip_body(frames, end.frame_ms);
  message.sent_at = end.started_at_us / 1000;
  message.received_at = clock_.wall_ms();
  message.state = storage::MessageState::kPending;
  Status done = in_transaction([&](Effects& effects) {
    SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                           storage::MessageRepo(account_.db()).insert(message));
    if (!row) return Status::internal("transmission id collision");
    message.row_id = *row;
    storage::VoiceClipRecord clip{*row,
                                  channel.id,
                                  end.transmission_id,
                                  account_.identity_key(),
                                  net::kVoiceSampleRate,
                                  end.frame_ms,
                                  end.bitrate,
                                  frames,
                                  end.started_at_us,
                                  encoded,
                                  end.timing,
                                  signature};
    SOTTO_RETURN_IF_ERROR(storage::VoiceClipRepo(account_.db()).insert(clip));
    SOTTO_RETURN_IF_ERROR(rotate_if_worn(channel, effects));
    wire::Content end_content;
    wire::VoiceEnd* voice_end = end_content.mutable_voice_end();
    voice_end->set_transmission_id(start.transmission_id());
    voice_end->set_channel_id(start.channel_id());
    voice_end->set_frames(frames);
    voice_end->set_signature(as_chars(signature).data(), signature.size());
    SOTTO_ASSIGN_OR_RETURN(Bytes end_frame,
                           group_frame(channel, end.transmission_id, std::move(end_content)));
    wire::Content clip_content;
    wire::VoiceClip* whole = clip_content.mutable_voice_clip();
    *whole->mutable_start() = start;
    whole->set_packets(as_chars(encoded).data(), encoded.size());
    whole->set_frames(frames);
    whole->set_signature(as_chars(signature).data(), signature.size());
    SOTTO_ASSIGN_OR_RETURN(Bytes clip_frame,
                           group_frame(channel, end.transmission_id, std::move(clip_content)));
    storage::OutboxRepo outbox(account_.db());
    SOTTO_RETURN_IF_ERROR(outbox.add_shared_frame(*row, clip_frame));
    SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel.id));
    for (const auto& m : members) {
      // Only who may hear it from its start to its end: a member invited meanwhile would get
      // what was said before it joined, and one removed meanwhile is no longer a member.
      if (m.fingerprint == account_.fingerprint() ||
          std::find(end.members.begin(), end.members.end(), m.fingerprint) == end.members.end()) {
        continue;
      }
      const bool live =
          std::find(end.live.begin(), end.live.end(), m.fingerprint) != end.live.end();
      if (live) effects.live.emplace_back(m.fingerprint, end_frame);
      SOTTO_ASSIGN_OR_RETURN(int64_t outbox_id, outbox.add_shared_to(*row, m.fingerprint));
      effects.out.push_back({m.fingerprint, outbox_id, *row, clip_frame, live});
    }
    effects.events.push_back(Event{
        clock_.wall_ms(),
        MessageEvent{message_info(message, account_.name(), Trust::kVerified, channel.name)}});
    return Status::ok();
  });
  if (!done.is_ok()) return done;
  hooks_.count(Counter::voice_clips_archived, 1);
  return message_info(message, account_.name(), Trust::kVerified, channel.name);
}

Status Messenger::receive_voice(const std::string& from, const storage::ChannelRecord& channel,
                                const wire::Content& content, Effects& effects) {
  auto wrong_channel = [&](const std::string& channel_id, const std::string& transmission_id) {
    return channel_id != as_chars(channel.id) || transmission_id.size() != net::kMessageIdSize;
  };
  switch (content.body_case()) {
    case wire::Content::kVoiceStart: {
      const wire::VoiceStart& start = content.voice_start();
      if (wrong_channel(start.channel_id(), start.transmission_id())) break;
      hooks_.count(Counter::voice_starts_received, 1);
      if (hooks_.voice_start) hooks_.voice_start(from, to_voice_channel(channel), start);
      return Status::ok();  // not archived: nothing to acknowledge
    }
    case wire::Content::kVoiceEnd: {
      const wire::VoiceEnd& end = content.voice_end();
      if (wrong_channel(end.channel_id(), end.transmission_id())) break;
      std::optional<HeardClip> heard;
      if (hooks_.voice_end) heard = hooks_.voice_end(from, end);
      if (!heard || heard->packets.size() != end.frames() ||
          heard->start.transmission_id() != end.transmission_id()) {
        // Not heard whole: the clip comes from the outbox, since this is not acknowledged.
        hooks_.count(Counter::voice_clips_awaited, 1);
        return Status::ok();
      }
      return archive_clip(from, channel, heard->start, heard->packets, heard->timing,
                          as_bytes(end.signature()), effects);
    }
    case wire::Content::kVoiceClip: {
      const wire::VoiceClip& clip = content.voice_clip();
      if (wrong_channel(clip.start().channel_id(), clip.start().transmission_id())) break;
      auto packets = voice::decode_packets(as_bytes(clip.packets()));
      if (!packets.is_ok() || packets.value().size() != clip.frames()) {
        hooks_.count(Counter::voice_clips_rejected, 1);
        return Status::corruption("voice clip packets do not match its frame count");
      }
      // Heard by no one here: the timing is the talker's nominal one.
      Bytes timing;
      for (uint32_t i = 0; i < clip.frames(); ++i) append_le32(timing, i * clip.start().frame_ms());
      return archive_clip(from, channel, clip.start(), packets.value(), timing,
                          as_bytes(clip.signature()), effects);
    }
    default:
      break;
  }
  hooks_.count(Counter::group_dropped_content, 1);
  return Status::corruption("voice message does not match its channel");
}

Status Messenger::archive_clip(const std::string& from, const storage::ChannelRecord& channel,
                               const wire::VoiceStart& start, const std::vector<Bytes>& packets,
                               const Bytes& timing, ByteView signature, Effects& effects) {
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel.id));
  auto talker = std::find_if(members.begin(), members.end(),
                             [&](const auto& m) { return m.fingerprint == from; });
  if (talker == members.end()) return Status::unavailable("the talker is not on the roster");
  const Bytes encoded = voice::encode_packets(packets);
  const auto frames = static_cast<uint32_t>(packets.size());
  if (!crypto::SignalEngine::verify(talker->identity_key,
                                    voice::clip_signing_input(clip_format(start), frames, encoded),
                                    signature)) {
    hooks_.count(Counter::voice_clips_rejected, 1);
    return Status::corruption("voice clip signature does not verify with the talker's key");
  }
  const Bytes transmission_id = bytes_of(start.transmission_id());
  storage::MessageRecord record;
  record.message_id = transmission_id;
  record.conversation = conversation_of(channel);
  record.sender = from;
  record.kind = storage::MessageKind::kVoice;
  record.body = clip_body(frames, start.frame_ms());
  record.sent_at = static_cast<int64_t>(start.started_at_us() / 1000);
  record.received_at = clock_.wall_ms();
  record.state = storage::MessageState::kReceived;
  storage::MessageRepo messages(account_.db());
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row, messages.insert(record));
  effects.receipts[from].push_back(transmission_id);
  if (!row) {
    hooks_.count(Counter::message_duplicates, 1);
    return Status::ok();
  }
  record.row_id = *row;
  ArchivedClip archived;
  archived.clip = storage::VoiceClipRecord{*row,
                                           channel.id,
                                           transmission_id,
                                           talker->identity_key,
                                           start.sample_rate(),
                                           start.frame_ms(),
                                           start.bitrate(),
                                           frames,
                                           static_cast<int64_t>(start.started_at_us()),
                                           encoded,
                                           timing,
                                           Bytes(signature.begin(), signature.end())};
  SOTTO_RETURN_IF_ERROR(storage::VoiceClipRepo(account_.db()).insert(archived.clip));
  hooks_.count(Counter::voice_clips_archived, 1);
  auto contact = storage::ContactRepo(account_.db()).find(from);
  const Trust trust =
      contact.is_ok() && contact.value() ? trust_of(contact.value()->trust) : Trust::kUnverified;
  archived.message = message_info(record, name_of(from), trust, channel.name);
  archived.signature_valid = true;
  effects.events.push_back(Event{clock_.wall_ms(), MessageEvent{archived.message}});
  if (hooks_.voice_archived) hooks_.voice_archived(from, to_voice_channel(channel), archived);
  return Status::ok();
}

Result<ArchivedClip> Messenger::find_clip(const std::string& id_prefix) {
  if (id_prefix.empty() || !std::all_of(id_prefix.begin(), id_prefix.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    return Status::invalid_argument("a message id is hex digits: '" + id_prefix + "' is not");
  }
  storage::VoiceClipRepo clips(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto rows, clips.rows_with_id_prefix(id_prefix));
  if (rows.empty()) return Status::invalid_argument("no voice clip with id " + id_prefix);
  if (rows.size() > 1) {
    return Status::invalid_argument("id " + id_prefix + " matches " + std::to_string(rows.size()) +
                                    " voice clips: give more digits");
  }
  ArchivedClip out;
  SOTTO_ASSIGN_OR_RETURN(auto clip, clips.find(rows.front()));
  SOTTO_ASSIGN_OR_RETURN(auto message, storage::MessageRepo(account_.db()).get(rows.front()));
  if (!clip || !message) return Status::not_found("no voice clip with id " + id_prefix);
  out.clip = std::move(*clip);
  std::string channel_name;
  auto channel = storage::ChannelRepo(account_.db()).find(out.clip.channel_id);
  if (channel.is_ok() && channel.value()) channel_name = channel.value()->name;
  out.message = message_info(*message, name_of(message->sender), Trust::kUnverified, channel_name);
  const voice::ClipFormat format{
      out.clip.channel_id, out.clip.transmission_id, static_cast<uint32_t>(out.clip.sample_rate),
      static_cast<uint32_t>(out.clip.frame_ms), static_cast<uint32_t>(out.clip.bitrate)};
  out.signature_valid = crypto::SignalEngine::verify(
      out.clip.talker_key,
      voice::clip_signing_input(format, static_cast<uint32_t>(out.clip.frames), out.clip.packets),
      out.clip.signature);
  return out;
}

}  // namespace sotto::core
