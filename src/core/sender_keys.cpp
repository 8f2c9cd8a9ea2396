#include "src/core/sender_keys.h"

#include <algorithm>
#include "src/core/account_internals.h"

#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/channel_copy_repo.h"
#include "sotto/storage/contact_repo.h"
#include "src/core/contact_book.h"
#include "src/core/message_ledger.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

constexpr int64_t kUpkeepIntervalMs = 500;
// On air the loop's upkeep runs on a frame's wake-up, with caches cold: a look at the rosters
// (the channels listed, then each one's members) cost a talker ~45 us and a listener ~30, twice a
// second, ~3 us a frame for the pair. What the look is for still comes at once: a changed roster
// and a member coming online ask for it (share_soon); only the fall-back look waits longer.
constexpr int64_t kOnAirUpkeepIntervalMs = 5000;

}  // namespace

SenderKeys::SenderKeys(Account& account, const MessengerHooks& hooks, ContactBook& contacts,
                       MessageLedger& ledger)
    : account_(account), hooks_(hooks), contacts_(contacts), ledger_(ledger) {}

Status SenderKeys::rotate_own(storage::ChannelRecord& channel) {
  channel.key_generation += 1;
  channel.key_uses = 0;
  SOTTO_ASSIGN_OR_RETURN(channel.own_key,
                         AccountInternals::signal(account_).own_sender_key(
                             sender_key_group(channel.id, channel.key_generation)));
  storage::ChannelRepo repo(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(repo.clear_key_offers(channel.id));
  // Where the new chain starts in our numbering, handed over with it (doc/protocol.md, Relay).
  storage::ChannelCopyRepo copies(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(copies.clear_floors(channel.id));
  SOTTO_ASSIGN_OR_RETURN(auto numbered, copies.mark(channel.id, account_.fingerprint()));
  SOTTO_RETURN_IF_ERROR(copies.set_floor(channel.id, "", numbered.value_or(0), channel.epoch));
  return repo.save(channel);
}

Status SenderKeys::offer_to_newcomers(const storage::ChannelRecord& channel,
                                      const std::vector<std::string>& newcomers) {
  if (newcomers.empty() || channel.own_key.empty()) return Status::ok();
  // libsignal hands out an existing sender key from where its chain stands now (its iteration
  // and that iteration's chain key), not from where it began.
  SOTTO_ASSIGN_OR_RETURN(Bytes current, AccountInternals::signal(account_).own_sender_key(
                                            sender_key_group(channel.id, channel.key_generation)));
  storage::ChannelRepo repo(AccountInternals::db(account_));
  storage::ChannelCopyRepo copies(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto numbered, copies.mark(channel.id, account_.fingerprint()));
  for (const auto& fingerprint : newcomers) {
    SOTTO_RETURN_IF_ERROR(repo.set_key_offer(channel.id, fingerprint, current));
    SOTTO_RETURN_IF_ERROR(
        copies.set_floor(channel.id, fingerprint, numbered.value_or(0), channel.epoch));
  }
  return Status::ok();
}

Status SenderKeys::share_own(const storage::ChannelRecord& channel, Effects& effects) {
  if (channel.state != storage::ChannelState::kMember || channel.own_key.empty() ||
      channel.key_uses == 0) {
    return Status::ok();
  }
  storage::ChannelRepo repo(AccountInternals::db(account_));
  storage::ChannelCopyRepo copies(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel.id));
  for (const auto& m : members) {
    if (m.fingerprint == account_.fingerprint() || m.key_shared >= channel.key_generation) continue;
    SOTTO_ASSIGN_OR_RETURN(bool has_session,
                           AccountInternals::signal(account_).has_session(m.fingerprint));
    if (!has_session) continue;  // upkeep_if_due starts one
    wire::Content content;
    auto* key = content.mutable_sender_key();
    key->set_channel_id(as_chars(channel.id).data(), channel.id.size());
    key->set_generation(static_cast<uint32_t>(channel.key_generation));
    const Bytes& distribution = m.key_offer.empty() ? channel.own_key : m.key_offer;
    key->set_distribution(as_chars(distribution).data(), distribution.size());
    SOTTO_ASSIGN_OR_RETURN(auto floor, copies.floor(channel.id, m.fingerprint));
    key->set_seq(static_cast<uint64_t>(floor.seq));
    key->set_epoch(static_cast<uint64_t>(floor.epoch));
    key->set_joined(!m.key_offer.empty());
    if (!key->joined()) {
      // Signed, so that co-members can hand it to a member who missed it (RelayedKey).
      SOTTO_ASSIGN_OR_RETURN(Bytes signature, AccountInternals::signal(account_).sign(
                                                  net::sender_key_signing_input(*key)));
      key->set_signature(as_chars(signature).data(), signature.size());
    }
    SOTTO_RETURN_IF_ERROR(ledger_.commit_direct(m.fingerprint, std::move(content), effects.out));
    SOTTO_RETURN_IF_ERROR(repo.set_key_shared(channel.id, m.fingerprint, channel.key_generation));
    hooks_.count(Counter::sender_keys_shared, 1);
  }
  return Status::ok();
}

Status SenderKeys::apply(const std::string& from, const wire::SenderKey& key, bool& stored) {
  stored = false;
  storage::ChannelRepo repo(AccountInternals::db(account_));
  const Bytes channel_id = bytes_of(key.channel_id());
  SOTTO_ASSIGN_OR_RETURN(auto channel, repo.find(channel_id));
  // The roster naming this sender may still be on its way: not acknowledged, so it comes again.
  if (!channel) return Status::unavailable("sender key for a channel not known yet");
  // Kept while an invitation waits: once accepted, the members' texts open at once.
  if (channel->state != storage::ChannelState::kMember &&
      channel->state != storage::ChannelState::kInvited) {
    return Status::ok();
  }
  SOTTO_ASSIGN_OR_RETURN(bool member, repo.is_member(channel_id, from));
  if (!member) return Status::unavailable("sender key from someone not (yet) on the roster");
  Status processed = AccountInternals::signal(account_).process_sender_key(
      sender_key_group(channel_id, key.generation()), from, as_bytes(key.distribution()));
  if (!processed.is_ok()) {
    hooks_.count(Counter::sender_key_rejected, 1);
    return Status::ok();  // malformed: acknowledged, it would never get better
  }
  stored = true;
  hooks_.count(Counter::sender_keys_received, 1);
  return keep_for_relay(channel_id, from, key);
}

Status SenderKeys::keep_for_relay(const Bytes& channel_id, const std::string& from,
                                  const wire::SenderKey& key) {
  if (key.joined() || key.signature().empty()) return Status::ok();
  storage::ChannelRepo repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel_id));
  auto owner = std::find_if(members.begin(), members.end(),
                            [&](const auto& m) { return m.fingerprint == from; });
  if (owner == members.end() ||
      !crypto::SignalEngine::verify(owner->identity_key, net::sender_key_signing_input(key),
                                    as_bytes(key.signature()))) {
    return Status::ok();  // it opens our copy; it just cannot be handed on
  }
  std::string serialized;
  key.SerializeToString(&serialized);
  return storage::ChannelCopyRepo(AccountInternals::db(account_))
      .keep_key(channel_id, from, key.generation(), static_cast<int64_t>(key.epoch()),
                as_bytes(serialized));
  return Status::ok();
}

Result<Bytes> SenderKeys::group_frame(storage::ChannelRecord& channel, ByteView message_id,
                                      wire::Content content, Effects& effects,
                                      storage::ChannelCopy* copy) {
  storage::ChannelRepo repo(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(repo.add_key_use(channel.id));
  channel.key_uses += 1;
  if (channel.key_uses == 1) {
    SOTTO_RETURN_IF_ERROR(share_own(channel, effects));
    share_soon();  // sessions with the members who have none
  }
  SOTTO_ASSIGN_OR_RETURN(Bytes plaintext, net::encode_content(std::move(content)));
  auto ciphertext = AccountInternals::signal(account_).group_encrypt(
      sender_key_group(channel.id, channel.key_generation), plaintext);
  wipe(plaintext.data(), plaintext.size());
  if (!ciphertext.is_ok()) return ciphertext.status();
  wire::Envelope envelope;
  auto* group = envelope.mutable_group();
  group->set_channel_id(as_chars(channel.id).data(), channel.id.size());
  group->set_body(as_chars(ciphertext.value()).data(), ciphertext.value().size());
  group->set_message_id(as_chars(message_id).data(), message_id.size());
  group->set_generation(static_cast<uint32_t>(channel.key_generation));
  if (copy != nullptr) {
    group->set_seq(static_cast<uint64_t>(copy->seq));
    copy->channel_id = channel.id;
    copy->author = account_.fingerprint();
    copy->generation = channel.key_generation;
    copy->body = std::move(ciphertext).value();
  }
  return net::encode_frame(std::move(envelope));
}

void SenderKeys::upkeep_if_due(int64_t now_ms, bool on_air) {
  const int64_t interval = on_air ? kOnAirUpkeepIntervalMs : kUpkeepIntervalMs;
  if (!soon_ && now_ms - last_upkeep_ms_ < interval) return;
  soon_ = false;
  last_upkeep_ms_ = now_ms;
  auto channels = storage::ChannelRepo(AccountInternals::db(account_)).list();
  if (!channels.is_ok()) return;
  bool share = false;
  for (const auto& channel : channels.value()) {
    if (channel.state == storage::ChannelState::kMember && needs_key(channel)) share = true;
  }
  if (!share) return;
  Status status = ledger_.in_transaction([&](Effects& effects) -> Status {
    for (const auto& channel : channels.value()) {
      SOTTO_RETURN_IF_ERROR(share_own(channel, effects));
    }
    return Status::ok();
  });
  if (!status.is_ok()) hooks_.count(Counter::sender_key_share_failed, 1);
}

bool SenderKeys::needs_key(const storage::ChannelRecord& channel) {
  if (channel.key_uses == 0) return false;  // handed out on its first use
  auto members = storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id);
  if (!members.is_ok()) return false;
  bool share = false;
  for (const auto& m : members.value()) {
    if (m.fingerprint == account_.fingerprint() || m.key_shared >= channel.key_generation) {
      continue;
    }
    auto has_session = AccountInternals::signal(account_).has_session(m.fingerprint);
    if (!has_session.is_ok()) continue;
    if (has_session.value()) {
      share = true;
    } else {
      start_session(m);
    }
  }
  return share;
}

void SenderKeys::start_session(const storage::ChannelMemberRecord& member) {
  if (member_sessions_pending_.count(member.fingerprint)) return;
  auto peer = hooks_.peer(member.fingerprint);
  if (!is_online(peer) || peer->identity_key != member.identity_key) return;
  member_sessions_pending_.insert(member.fingerprint);
  auto contact = storage::ContactRepo(AccountInternals::db(account_)).find(member.fingerprint);
  const std::string name = contact.is_ok() && contact.value() ? contact.value()->name : member.name;
  const std::string fingerprint = member.fingerprint;
  contacts_.add(fingerprint, name, [this, fingerprint](Result<ContactInfo> added) {
    member_sessions_pending_.erase(fingerprint);
    share_soon();
    if (!added.is_ok()) hooks_.count(Counter::member_session_failed, 1);
  });
}

}  // namespace sotto::core
