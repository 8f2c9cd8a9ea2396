// Messenger: channels (doc/guide.md, Channels). The ChannelService owns rosters and invitations,
// SenderKeys the keys; here are the front ends' calls, and channel text on its way through the
// ledger: encrypted once under the author's sender key, one outbox entry per member, a receipt from
// each; "delivered" when every member has acknowledged it.
#include <algorithm>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/channel_copy_repo.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/outbox_repo.h"
#include "src/core/account_internals.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/core/voice_clip_content.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {

// --- front ends ---------------------------------------------------------------------------------

Result<ChannelInfo> Messenger::create_channel(const std::string& name, bool strict, bool free_voice,
                                              const std::vector<std::string>& members) {
  return channels_.create(name, strict, free_voice, members);
}

Result<ChannelInfo> Messenger::invite_to_channel(const std::string& channel,
                                                 const std::string& peer) {
  return channels_.invite(channel, {peer});
}

Result<ChannelInfo> Messenger::invite_to_channel(const std::string& channel,
                                                 const std::vector<std::string>& peers) {
  return channels_.invite(channel, peers);
}

Result<ChannelInfo> Messenger::remove_from_channel(const std::string& channel,
                                                   const std::string& peer) {
  return channels_.remove(channel, peer);
}

Result<ChannelInfo> Messenger::leave_channel(const std::string& channel) {
  return channels_.leave(channel);
}

Result<ChannelInfo> Messenger::accept_channel(const std::string& channel) {
  return channels_.accept(channel);
}

Result<ChannelInfo> Messenger::decline_channel(const std::string& channel) {
  return channels_.decline(channel);
}

Result<std::vector<ChannelInfo>> Messenger::channels() {
  SOTTO_ASSIGN_OR_RETURN(auto list, channels_.list());
  for (auto& info : list) relay_.describe(info);
  return list;
}

Result<ChannelInfo> Messenger::channel(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, channels_.resolve(name));
  SOTTO_ASSIGN_OR_RETURN(ChannelInfo info, channels_.info(channel));
  relay_.describe(info);
  return info;
}

std::string Messenger::name_of(const std::string& fingerprint) {
  return contacts_.name_of(fingerprint);
}

// --- shared with the other Messenger files --------------------------------------------------

Result<storage::ChannelRecord> Messenger::resolve_channel(const std::string& name) {
  return channels_.resolve(name);
}

void Messenger::channel_upkeep(bool on_air) {
  // Frames went out since the last look: a roster may have changed, so keys are shared now.
  if (ledger_.take_frames_out()) keys_.share_soon();
  keys_.upkeep_if_due(clock_.now_ms(), on_air);
}

// --- channel text -------------------------------------------------------------------------------

Status Messenger::check_channel_send(const storage::ChannelRecord& channel) {
  if (channel.state == storage::ChannelState::kInvited) {
    return Status::invalid_argument("#" + channel.name +
                                    " is an invitation: accept it first (sotto channel "
                                    "accept " +
                                    channel.name + ")");
  }
  if (channel.state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + channel.name);
  }
  return Status::ok();
}

Status Messenger::commit_group_text(const QueuedSend& send, Committed& out) {
  storage::ChannelRepo repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto fresh, repo.find(send.channel->id));
  if (!fresh || fresh->state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + send.channel->name);
  }
  storage::ChannelRecord channel = *fresh;
  Effects effects;
  SOTTO_RETURN_IF_ERROR(channels_.rotate_if_worn(channel, effects));
  for (auto& o : effects.out) out.out.push_back(std::move(o));
  for (auto& e : effects.events) out.events.push_back(std::move(e));
  storage::MessageRecord message;
  message.message_id = crypto::random_bytes(net::kMessageIdSize);
  message.conversation = conversation_of(channel);
  message.sender = account_.fingerprint();
  message.outgoing = true;
  message.body = send.text;
  message.sent_at = clock_.wall_ms();
  message.received_at = message.sent_at;
  message.state = storage::MessageState::kPending;
  wire::Content content;
  auto* t = content.mutable_text();
  t->set_id(as_chars(message.message_id).data(), message.message_id.size());
  t->set_sent_at(static_cast<uint64_t>(message.sent_at));
  t->set_body(send.text);
  t->set_channel_id(as_chars(channel.id).data(), channel.id.size());
  storage::ChannelCopy copy;  // kept, so that members can hand it on (ChannelRelay)
  SOTTO_ASSIGN_OR_RETURN(copy.seq, relay_.number_own(channel.id));
  t->set_seq(static_cast<uint64_t>(copy.seq));
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(AccountInternals::db(account_)).insert(message));
  if (!row) return Status::internal("message id collision");
  Effects key_effects;  // our key, on its first use, goes out ahead of the text
  SOTTO_ASSIGN_OR_RETURN(Bytes frame, keys_.group_frame(channel, message.message_id,
                                                        std::move(content), key_effects, &copy));
  copy.message_row = *row;
  SOTTO_RETURN_IF_ERROR(relay_.keep(copy));
  for (auto& o : key_effects.out) out.out.push_back(std::move(o));
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel.id));
  storage::OutboxRepo outbox(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(outbox.add_shared_frame(*row, net::frame_without_padding(frame)));
  for (const auto& m : members) {
    if (m.fingerprint == account_.fingerprint()) continue;
    SOTTO_ASSIGN_OR_RETURN(int64_t outbox_id, outbox.add_shared_to(*row, m.fingerprint));
    out.out.push_back({m.fingerprint, outbox_id, *row, frame});
  }
  out.info = message_info(message, account_.name(), Trust::kVerified, channel.name);
  return Status::ok();
}

std::vector<crypto::SignatureCheck> Messenger::signature_checks(
    const std::vector<Received>& batch) {
  std::vector<Bytes> groups;  // the views below point into it: no reallocation
  groups.reserve(batch.size());
  std::vector<crypto::SignalEngine::SenderKeyCiphertext> messages;
  for (const auto& item : batch) {
    if (!item.envelope.has_group()) continue;
    const wire::GroupMessage& g = item.envelope.group();
    if (g.channel_id().size() != net::kChannelIdSize) continue;
    groups.push_back(sender_key_group(as_bytes(g.channel_id()), g.generation()));
    // As receive_group names the author: a relayed copy names it, a direct one is its sender's.
    const std::string& author = g.author().empty() ? item.from : g.author();
    messages.push_back({groups.back(), author, as_bytes(g.body())});
  }
  if (messages.size() < crypto::VerifyAhead::kMinChecks) return {};
  return AccountInternals::signal(account_).sender_key_checks(messages);
}

Status Messenger::receive_group(const Received& item, Effects& effects) {
  const wire::GroupMessage& g = item.envelope.group();
  const Bytes channel_id = bytes_of(g.channel_id());
  const Bytes message_id = bytes_of(g.message_id());
  if (channel_id.size() != net::kChannelIdSize || message_id.size() != net::kMessageIdSize) {
    hooks_.count(Counter::group_dropped_malformed, 1);
    return Status::corruption("channel message without channel or id");
  }
  // A copy handed on by another member (ChannelRelay): `author` wrote it, `item.from` relays it.
  const bool relayed = !g.author().empty() && g.author() != item.from;
  const std::string& author = relayed ? g.author() : item.from;
  storage::ChannelRepo repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto channel, repo.find(channel_id));
  // Not acknowledged, so the author tries again: its roster or key may still be on the way.
  if (!channel || channel->state != storage::ChannelState::kMember) {
    hooks_.count(relayed ? Counter::relay_dropped_not_member : Counter::group_dropped_not_member,
                 1);
    return Status::unavailable("not a member of that channel");
  }
  // A relay must be on the roster now, as must the author: a removed member neither relays nor
  // is relayed.
  for (const std::string* who : {&item.from, &author}) {
    SOTTO_ASSIGN_OR_RETURN(bool member, repo.is_member(channel_id, *who));
    if (!member) {
      hooks_.count(relayed ? Counter::relay_dropped_not_member : Counter::group_dropped_not_member,
                   1);
      return Status::unavailable("the author is not on the roster");
    }
  }
  if (relayed) {
    bool duplicate = false;
    Status next = relay_.check_relayed(channel_id, author, g.seq(), duplicate);
    if (duplicate) {
      hooks_.count(Counter::relay_dropped_duplicate, 1);
      return Status::ok();
    }
    if (!next.is_ok()) {
      const bool no_key = next.code() == StatusCode::kNotFound;
      hooks_.count(no_key ? Counter::relay_dropped_no_key : Counter::relay_dropped_order, 1);
      relay_.note_refused(item.from, channel_id, author, no_key);
      return next;
    }
  }
  // A retry of a message already archived: acknowledged again without the signature check
  // and decryption (the costly part), which would only find the same duplicate. (A relayed
  // copy is the next one we lack by its number, so it cannot be archived yet.)
  if (!relayed) {
    SOTTO_ASSIGN_OR_RETURN(
        auto archived,
        storage::MessageRepo(AccountInternals::db(account_)).find_row(author, message_id));
    if (archived) {
      hooks_.count(Counter::message_duplicates, 1);
      effects.receipts[author].push_back(message_id);
      return Status::ok();
    }
  }
  auto plaintext = AccountInternals::signal(account_).group_decrypt(
      sender_key_group(channel_id, g.generation()), author, as_bytes(g.body()));
  if (!plaintext.is_ok()) {
    if (relayed) {
      // The author's signature does not hold, or its key is one we never got: a relay can
      // withhold, never alter or forge.
      const bool no_key = plaintext.status().code() == StatusCode::kNotFound;
      hooks_.count(no_key ? Counter::relay_dropped_no_key : Counter::relay_dropped_invalid, 1);
      if (no_key) relay_.note_refused(item.from, channel_id, author, true);
      return Status::unavailable(plaintext.status().message());
    }
    if (crypto::is_duplicate(plaintext.status())) {
      ledger_.acknowledge_duplicate(author, message_id, effects);
      return Status::ok();
    }
    if (plaintext.status().code() != StatusCode::kNotFound) {
      hooks_.count(Counter::group_dropped_invalid, 1);
    } else if (key_waits_.hold(item, clock_.now_ms())) {
      hooks_.count(Counter::group_held_for_key, 1);  // the key is likely right behind it
    } else {
      hooks_.count(Counter::group_hold_full, 1);
      hooks_.count(Counter::group_dropped_no_key, 1);
    }
    return Status::unavailable(plaintext.status().message());
  }
  auto content = net::decode_content(plaintext.value());
  wipe(plaintext.value().data(), plaintext.value().size());
  if (!content.is_ok()) {
    hooks_.count(Counter::group_dropped_content, 1);
    return Status::corruption("channel message content does not match its envelope");
  }
  const GroupOrigin origin{author, relayed ? item.from : std::string()};
  return archive_group(item, origin, *channel, content.value(), effects);
}

Status Messenger::receive_relayed_key(const Received& item) {
  const wire::RelayedKey& relayed = item.envelope.relayed_key();
  wire::SenderKey key;
  const Bytes channel_id = [&] {
    return key.ParseFromString(relayed.sender_key()) ? bytes_of(key.channel_id()) : Bytes();
  }();
  if (channel_id.size() != net::kChannelIdSize || key.joined() ||
      key.signature().size() != net::kSignatureSize) {
    hooks_.count(Counter::relay_key_dropped, 1);
    return Status::ok();
  }
  storage::ChannelRepo repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto channel, repo.find(channel_id));
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel_id));
  auto member = [&](const std::string& fingerprint) {
    return std::find_if(members.begin(), members.end(),
                        [&](const auto& m) { return m.fingerprint == fingerprint; });
  };
  const auto author = member(relayed.author());
  if (!channel || channel->state != storage::ChannelState::kMember ||
      member(item.from) == members.end() || author == members.end()) {
    hooks_.count(Counter::relay_dropped_not_member, 1);
    return Status::ok();
  }
  // The key is its owner's only if its owner signed it; the relay vouches for nothing.
  if (!crypto::SignalEngine::verify(author->identity_key, net::sender_key_signing_input(key),
                                    as_bytes(key.signature()))) {
    hooks_.count(Counter::relay_key_dropped, 1);
    return Status::ok();
  }
  crypto::SignalEngine& signal = AccountInternals::signal(account_);
  const Bytes group = sender_key_group(channel_id, key.generation());
  SOTTO_ASSIGN_OR_RETURN(bool known, signal.has_sender_key(group, relayed.author()));
  // Taken once: processing it again would rewind the chain we hold to its first iteration.
  if (known) {
    hooks_.count(Counter::relay_keys_known, 1);
    return Status::ok();
  }
  if (!signal.process_sender_key(group, relayed.author(), as_bytes(key.distribution())).is_ok()) {
    hooks_.count(Counter::relay_key_dropped, 1);
    return Status::ok();
  }
  hooks_.count(Counter::relay_keys_received, 1);
  SOTTO_RETURN_IF_ERROR(relay_.on_sender_key(channel_id, relayed.author(), key.seq(), false));
  SOTTO_RETURN_IF_ERROR(keys_.keep_for_relay(channel_id, relayed.author(), key));
  key_waits_.key_applied(relayed.author(), key.channel_id());
  return Status::ok();
}

Status Messenger::archive_group(const Received& item, const GroupOrigin& origin,
                                const storage::ChannelRecord& channel, const wire::Content& content,
                                Effects& effects) {
  const bool relayed = !origin.relay.empty();
  if (!content.has_text()) return archive_voice(item, origin, channel, content, effects);
  const wire::GroupMessage& g = item.envelope.group();
  // The envelope's id, channel and number are the author's, signed inside: a relay that
  // changed one is caught here.
  if (content.text().id() != g.message_id() || content.text().channel_id() != g.channel_id() ||
      content.text().seq() != g.seq()) {
    hooks_.count(relayed ? Counter::relay_dropped_invalid : Counter::group_dropped_content, 1);
    return Status::corruption("channel message content does not match its envelope");
  }
  storage::ChannelCopyRepo copies(AccountInternals::db(account_));
  // One message per number: an author who numbers two messages alike gets the first archived.
  // (A relayed copy was checked to be the next number we lack.)
  if (g.seq() > 0 && !relayed) {
    SOTTO_ASSIGN_OR_RETURN(
        auto taken, copies.find_row(channel.id, origin.author, static_cast<int64_t>(g.seq())));
    if (taken) {
      hooks_.count(Counter::group_dropped_seq, 1);
      return Status::corruption("a channel message number used twice");
    }
  }
  storage::MessageRecord record;
  record.message_id = bytes_of(g.message_id());
  record.conversation = conversation_of(channel);
  record.sender = origin.author;
  record.body = content.text().body();
  record.sent_at = static_cast<int64_t>(content.text().sent_at());
  record.received_at = clock_.wall_ms();
  record.state = storage::MessageState::kReceived;
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(AccountInternals::db(account_)).insert(record));
  if (!relayed) effects.receipts[origin.author].push_back(record.message_id);
  if (!row) {
    hooks_.count(Counter::message_duplicates, 1);
    return Status::ok();
  }
  SOTTO_RETURN_IF_ERROR(keep_copy(item, origin, channel.id, *row));
  hooks_.count(Counter::group_messages_received, 1);
  auto contact = storage::ContactRepo(AccountInternals::db(account_)).find(origin.author);
  const bool known = contact.is_ok() && contact.value();
  const Trust trust = known ? trust_of(contact.value()->trust) : Trust::kUnverified;
  const std::string name = known ? contact.value()->name : name_of(origin.author);
  MessageInfo info = message_info(record, name, trust, channel.name);
  info.relayed_by = origin.relay;
  effects.events.push_back(Event{clock_.wall_ms(), MessageEvent{std::move(info)}});
  return Status::ok();
}

Status Messenger::keep_copy(const Received& item, const GroupOrigin& origin, ByteView channel_id,
                            int64_t row, Bytes clip_key) {
  const wire::GroupMessage& g = item.envelope.group();
  if (!origin.relay.empty()) {
    hooks_.count(Counter::relay_copies_archived, 1);
    relay_.note_relayed_from(origin.relay);
  }
  if (g.seq() == 0) return Status::ok();
  storage::ChannelCopy copy;
  copy.message_row = row;
  copy.channel_id = Bytes(channel_id.begin(), channel_id.end());
  copy.author = origin.author;
  copy.seq = static_cast<int64_t>(std::min<uint64_t>(g.seq(), INT64_MAX));
  copy.generation = g.generation();
  copy.body = bytes_of(g.body());
  copy.relayed_by = origin.relay;
  copy.clip_key = std::move(clip_key);
  return relay_.keep(copy);
}

Status Messenger::archive_voice(const Received& item, const GroupOrigin& origin,
                                const storage::ChannelRecord& channel, const wire::Content& content,
                                Effects& effects) {
  const wire::GroupMessage& g = item.envelope.group();
  const bool relayed = !origin.relay.empty();
  auto refuse = [&](const char* why) {
    hooks_.count(relayed ? Counter::relay_dropped_invalid : Counter::group_dropped_content, 1);
    return Status::corruption(why);
  };
  if (content.has_voice_clip()) {
    if (content.voice_clip().seq() != g.seq()) return refuse("a clip numbered unlike its envelope");
    int64_t row = 0;
    SOTTO_RETURN_IF_ERROR(clips_.receive(origin.author, channel, content, effects, relayed, &row));
    return row != 0 ? keep_copy(item, origin, channel.id, row) : Status::ok();
  }
  if (content.has_voice_end() && (relayed || !g.clip().empty())) {
    // A clip a member heard live, relayed: the author's VoiceEnd (its number, its signature and
    // the key the packets are sealed under) with the packets sealed beside it.
    const wire::VoiceEnd& end = content.voice_end();
    if (!relayed || end.seq() != g.seq() || g.seq() == 0 ||
        end.transmission_id() != g.message_id() || end.channel_id() != g.channel_id()) {
      return refuse("a relayed clip unlike its envelope");
    }
    auto clip = open_relayed_clip(as_bytes(end.relay_key()), channel.id,
                                  as_bytes(end.transmission_id()), as_bytes(g.clip()));
    if (!clip.is_ok() || clip.value().frames() != end.frames()) {
      return refuse("a relayed clip that does not open or match its VoiceEnd");
    }
    SOTTO_ASSIGN_OR_RETURN(auto row, clips_.archive_relayed(origin.author, channel, clip.value(),
                                                            as_bytes(end.signature()), effects));
    if (!row) return Status::ok();
    return keep_copy(item, origin, channel.id, *row, bytes_of(end.relay_key()));
  }
  if (relayed) return refuse("only numbered texts and clips are relayed");
  if (content.has_voice_end() && g.seq() > 0 && content.voice_end().seq() == g.seq() &&
      content.voice_end().relay_key().size() == kRelayKeySize) {
    // Kept until the voice side archives what we heard (archive_heard_clip): then it is a copy
    // we can relay, the VoiceEnd as its body.
    if (heard_ends_.size() >= kMaxHeardEnds) heard_ends_.erase(heard_ends_.begin());
    heard_ends_[{origin.author, bytes_of(content.voice_end().transmission_id())}] =
        HeardEnd{item, origin, bytes_of(content.voice_end().relay_key())};
  }
  return clips_.receive(origin.author, channel, content, effects);
}

}  // namespace sotto::core
