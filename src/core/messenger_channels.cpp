// Channels (DESIGN §7): the admin's signed roster, sender keys, channel text and its audit trail.
//
//   membership: the admin signs the roster of the next epoch and sends it to every member (and
//               to whoever was removed) over the 1:1 sessions, through the outbox like text. A
//               member applies a roster only when the admin's key signed it and its epoch is
//               newer than the one it holds; then it starts a new sender key of its own.
//   sender keys: each member hands its key to every other member over the 1:1 session; with a
//               member it has no session with yet, the one with the lower fingerprint fetches
//               the other's bundle (so the two never start sessions at each other at once).
//   text:       encrypted once under the author's sender key, one outbox entry per member, a
//               receipt from each; "delivered" when every member has acknowledged it.
#include <algorithm>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/expiry_repo.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/outbox_repo.h"
#include "src/core/channel_roster.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

// Sender keys have no post-compromise security within one key: a new one now and then.
constexpr int64_t kRotateAfterMessages = 1000;
// Channels (and invitations) one admin can make us hold: each costs a roster and a sender key.
constexpr int64_t kMaxChannelsPerAdmin = 64;

std::string bare_name(const std::string& name) {
  return !name.empty() && name.front() == '#' ? name.substr(1) : name;
}

std::string state_name(storage::ChannelState state) {
  switch (state) {
    case storage::ChannelState::kMember:
      return "member";
    case storage::ChannelState::kRemoved:
      return "removed";
    case storage::ChannelState::kLeft:
      return "left";
    case storage::ChannelState::kDissolved:
      return "dissolved";
    case storage::ChannelState::kInvited:
      return "invited";
  }
  return "unknown";
}

ChannelFlags flags_of(const storage::ChannelRecord& channel) {
  return ChannelFlags{channel.locked, channel.strict, channel.free_voice};
}

}  // namespace

// --- reading ------------------------------------------------------------------------------------

Result<storage::ChannelRecord> Messenger::resolve_channel(const std::string& name) {
  const std::string bare = bare_name(name);
  if (bare.empty()) return Status::invalid_argument("no channel given");
  SOTTO_ASSIGN_OR_RETURN(auto channel, storage::ChannelRepo(account_.db()).find_by_name(bare));
  if (!channel) {
    return Status::invalid_argument("unknown channel #" + bare + " (see sotto channel list)");
  }
  return *channel;
}

std::string Messenger::name_of(const std::string& fingerprint) {
  if (fingerprint == account_.fingerprint()) return account_.name();
  auto contact = storage::ContactRepo(account_.db()).find(fingerprint);
  if (contact.is_ok() && contact.value()) return contact.value()->name;
  auto channels = storage::ChannelRepo(account_.db()).list();
  if (channels.is_ok()) {
    for (const auto& c : channels.value()) {
      auto members = storage::ChannelRepo(account_.db()).members(c.id);
      if (!members.is_ok()) continue;
      for (const auto& m : members.value()) {
        if (m.fingerprint == fingerprint && !m.name.empty()) return m.name;
      }
    }
  }
  return fingerprint.substr(0, 16);
}

Result<ChannelInfo> Messenger::channel_info(const storage::ChannelRecord& channel) {
  SOTTO_ASSIGN_OR_RETURN(auto members, storage::ChannelRepo(account_.db()).members(channel.id));
  ChannelInfo info;
  info.id = to_hex(channel.id);
  info.name = channel.name;
  info.admin = channel.admin;
  info.admin_name = name_of(channel.admin);
  info.epoch = static_cast<uint64_t>(channel.epoch);
  info.locked = channel.locked;
  info.strict = channel.strict;
  info.state = state_name(channel.state);
  std::vector<Bytes> keys;
  const bool i_am_admin = channel.admin == account_.fingerprint();
  SOTTO_ASSIGN_OR_RETURN(const bool admin_verified, verified(channel.admin, channel.admin_key));
  storage::ContactRepo contacts(account_.db());
  for (const auto& m : members) {
    keys.push_back(m.identity_key);
    ChannelMember member;
    member.fingerprint = m.fingerprint;
    member.name = m.name;
    member.identity_key = m.identity_key;
    member.admin = m.fingerprint == channel.admin;
    member.online = is_online(hooks_.peer(m.fingerprint));
    SOTTO_ASSIGN_OR_RETURN(auto contact, contacts.find(m.fingerprint));
    if (contact) member.name = contact->name;
    if (m.fingerprint == account_.fingerprint()) {
      member.trust = "me";
      member.online = true;
    } else if (contact && contact->trust == storage::Trust::kVerified &&
               contact->identity_key == m.identity_key) {
      member.trust = "verified";
    } else if (admin_verified && !i_am_admin && !member.admin) {
      // We did not check this key ourselves: it came in the roster an admin we verified signed.
      member.trust = "vouched";
      member.vouched_by = info.admin_name;
    } else {
      member.trust = "unverified";
    }
    info.members.push_back(std::move(member));
  }
  info.security_code = channel_security_code(channel.id, channel.admin_key, flags_of(channel),
                                             info.epoch, std::move(keys));
  info.free_voice = channel.free_voice;
  auto expiry = storage::ExpiryRepo(account_.db()).get(conversation_of(channel));
  if (expiry.is_ok() && expiry.value()) info.expire_ms = expiry.value()->expire_ms;
  if (hooks_.describe_channel) hooks_.describe_channel(info);
  return info;
}

Result<std::vector<ChannelInfo>> Messenger::channels() {
  SOTTO_ASSIGN_OR_RETURN(auto records, storage::ChannelRepo(account_.db()).list());
  std::vector<ChannelInfo> out;
  for (const auto& c : records) {
    SOTTO_ASSIGN_OR_RETURN(ChannelInfo info, channel_info(c));
    out.push_back(std::move(info));
  }
  return out;
}

Result<ChannelInfo> Messenger::channel(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(name));
  return channel_info(channel);
}

// --- membership (admin) -------------------------------------------------------------------------

Status Messenger::in_transaction(const std::function<Status(Effects&)>& body) {
  Effects effects;
  storage::Transaction tx(account_.db());
  SOTTO_RETURN_IF_ERROR(tx.begin_status());
  SOTTO_RETURN_IF_ERROR(body(effects));
  SOTTO_RETURN_IF_ERROR(tx.commit());
  finish_receive(effects);
  return Status::ok();
}

Result<ChannelInfo> Messenger::create_channel(const std::string& name, bool strict,
                                              bool free_voice) {
  const std::string bare = bare_name(name);
  if (bare.empty() || bare.size() > Account::kMaxNameBytes || !net::is_valid_utf8(bare) ||
      bare.find_first_of(" \t\r\n#") != std::string::npos) {
    return Status::invalid_argument("bad channel name '" + name +
                                    "': 1 to 64 bytes of UTF-8, no spaces or '#'");
  }
  SOTTO_ASSIGN_OR_RETURN(auto existing, storage::ChannelRepo(account_.db()).find_by_name(bare));
  if (existing) return Status::invalid_argument("a channel named #" + bare + " already exists");
  storage::ChannelRecord channel;
  channel.id_nonce = crypto::random_bytes(kChannelNonceSize);
  channel.id = channel_id_for(account_.identity_key(), channel.id_nonce);
  channel.name = bare;
  channel.admin = account_.fingerprint();
  channel.admin_key = account_.identity_key();
  channel.locked = true;
  channel.strict = strict;
  channel.free_voice = free_voice;
  channel.created_at = clock_.wall_ms();
  const std::vector<storage::ChannelMemberRecord> members = {
      {account_.fingerprint(), account_.name(), account_.identity_key(), 0}};
  Status changed = in_transaction([&](Effects& effects) {
    return issue_roster(channel, members, "created", {}, false, {}, effects);
  });
  if (!changed.is_ok()) return changed;
  return this->channel(bare);
}

Status Messenger::issue_roster(storage::ChannelRecord& channel,
                               const std::vector<storage::ChannelMemberRecord>& members,
                               const std::string& change, const Bytes& subject_key, bool dissolved,
                               const std::vector<std::string>& recipients, Effects& effects) {
  wire::Roster roster;
  roster.set_channel_id(as_chars(channel.id).data(), channel.id.size());
  roster.set_name(channel.name);
  roster.set_epoch(static_cast<uint64_t>(channel.epoch + 1));
  roster.set_admin_key(as_chars(account_.identity_key()).data(), account_.identity_key().size());
  roster.set_locked(channel.locked);
  roster.set_strict(channel.strict);
  roster.set_free_voice(channel.free_voice);
  roster.set_id_nonce(as_chars(channel.id_nonce).data(), channel.id_nonce.size());
  for (const auto& m : members) {
    auto* member = roster.add_members();
    member->set_identity_key(as_chars(m.identity_key).data(), m.identity_key.size());
    member->set_name(m.name);
  }
  roster.set_change(change);
  roster.set_subject_key(as_chars(subject_key).data(), subject_key.size());
  roster.set_dissolved(dissolved);
  roster.set_issued_at(static_cast<uint64_t>(clock_.wall_ms()));
  roster.set_created_at(static_cast<uint64_t>(channel.created_at));
  wire::ChannelUpdate update;
  update.set_roster(roster.SerializeAsString());
  SOTTO_ASSIGN_OR_RETURN(Bytes signature,
                         account_.signal().sign(roster_signing_input(as_bytes(update.roster()))));
  update.set_signature(as_chars(signature).data(), signature.size());
  const std::string update_blob = update.SerializeAsString();
  SOTTO_RETURN_IF_ERROR(
      apply_roster(account_.fingerprint(), roster, as_bytes(update_blob), false, effects));
  for (const auto& recipient : recipients) {
    wire::Content content;
    *content.mutable_channel_update() = update;
    SOTTO_RETURN_IF_ERROR(commit_direct(recipient, std::move(content), effects.out));
  }
  SOTTO_ASSIGN_OR_RETURN(auto stored, storage::ChannelRepo(account_.db()).find(channel.id));
  if (stored) channel = *stored;
  return share_own_key(channel, effects);
}

Result<ChannelInfo> Messenger::invite_to_channel(const std::string& name, const std::string& peer) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(name));
  if (channel.state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + channel.name);
  }
  if (channel.admin != account_.fingerprint()) {
    return Status::invalid_argument("#" + channel.name + " is locked: only its admin (" +
                                    name_of(channel.admin) + ") changes its members");
  }
  SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord contact, resolve(peer));
  if (channel.strict && contact.trust != storage::Trust::kVerified) {
    return Status::invalid_argument(contact.name + " is not verified, and #" + channel.name +
                                    " admits verified contacts only: compare safety numbers "
                                    "with 'sotto verify " +
                                    contact.name + "', then add --confirm");
  }
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(bool already, repo.is_member(channel.id, contact.fingerprint));
  if (already) {
    return Status::invalid_argument(contact.name + " is already a member of #" + channel.name);
  }
  SOTTO_ASSIGN_OR_RETURN(bool has_session, account_.signal().has_session(contact.fingerprint));
  if (!has_session) {
    return Status::invalid_argument("no session with " + contact.name + " yet; run: sotto add " +
                                    contact.name);
  }
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel.id));
  if (members.size() >= kMaxChannelMembers) {
    return Status::invalid_argument("#" + channel.name + " is full: a channel has at most " +
                                    std::to_string(kMaxChannelMembers) + " members");
  }
  std::vector<std::string> recipients;
  for (const auto& m : members) {
    if (m.fingerprint != account_.fingerprint()) recipients.push_back(m.fingerprint);
  }
  members.push_back({contact.fingerprint, contact.name, contact.identity_key, 0});
  recipients.push_back(contact.fingerprint);
  Status changed = in_transaction([&](Effects& effects) {
    return issue_roster(channel, members, "invited", contact.identity_key, false, recipients,
                        effects);
  });
  if (!changed.is_ok()) return changed;
  return channel_info(channel);
}

Result<ChannelInfo> Messenger::remove_from_channel(const std::string& name,
                                                   const std::string& peer) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(name));
  if (channel.state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + channel.name);
  }
  if (channel.admin != account_.fingerprint()) {
    return Status::invalid_argument("#" + channel.name + " is locked: only its admin (" +
                                    name_of(channel.admin) + ") changes its members");
  }
  SOTTO_ASSIGN_OR_RETURN(auto members, storage::ChannelRepo(account_.db()).members(channel.id));
  std::vector<storage::ChannelMemberRecord> matches;
  for (const auto& m : members) {
    const bool by_prefix = peer.size() >= 4 && m.fingerprint.rfind(peer, 0) == 0;
    if (m.name == peer || name_of(m.fingerprint) == peer || by_prefix) matches.push_back(m);
  }
  if (matches.empty()) {
    return Status::invalid_argument(peer + " is not a member of #" + channel.name);
  }
  if (matches.size() > 1) {
    return Status::invalid_argument("'" + peer + "' matches several members; use a fingerprint");
  }
  const storage::ChannelMemberRecord subject = matches.front();
  if (subject.fingerprint == account_.fingerprint()) {
    return Status::invalid_argument("to leave #" + channel.name +
                                    " yourself, use: sotto channel leave " + channel.name);
  }
  std::vector<storage::ChannelMemberRecord> remaining;
  std::vector<std::string> recipients = {subject.fingerprint};  // told it is out
  for (const auto& m : members) {
    if (m.fingerprint == subject.fingerprint) continue;
    remaining.push_back(m);
    if (m.fingerprint != account_.fingerprint()) recipients.push_back(m.fingerprint);
  }
  Status changed = in_transaction([&](Effects& effects) {
    return issue_roster(channel, remaining, "removed", subject.identity_key, false, recipients,
                        effects);
  });
  if (!changed.is_ok()) return changed;
  return channel_info(channel);
}

Result<ChannelInfo> Messenger::accept_channel(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(name));
  if (channel.state != storage::ChannelState::kInvited) {
    return Status::invalid_argument("#" + channel.name + " is not an invitation waiting for you");
  }
  Status joined = in_transaction([&](Effects& effects) -> Status {
    channel.state = storage::ChannelState::kMember;
    SOTTO_RETURN_IF_ERROR(rotate_own_key(channel));  // saves the new state too
    SOTTO_RETURN_IF_ERROR(share_own_key(channel, effects));
    return record_channel_event(channel, account_.fingerprint(), "joined", account_.fingerprint(),
                                account_.name() + " accepted the invitation to #" + channel.name,
                                effects);
  });
  if (!joined.is_ok()) return joined;
  SOTTO_ASSIGN_OR_RETURN(auto members, storage::ChannelRepo(account_.db()).members(channel.id));
  introduce_new_members(members, {});
  return channel_info(channel);
}

Result<ChannelInfo> Messenger::decline_channel(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(name));
  if (channel.state != storage::ChannelState::kInvited) {
    return Status::invalid_argument("#" + channel.name + " is not an invitation waiting for you");
  }
  Status declined = in_transaction([&](Effects& effects) -> Status {
    SOTTO_RETURN_IF_ERROR(send_leave(channel, effects));
    return record_channel_event(channel, account_.fingerprint(), "declined", account_.fingerprint(),
                                account_.name() + " declined the invitation to #" + channel.name,
                                effects);
  });
  if (!declined.is_ok()) return declined;
  return channel_info(channel);
}

Status Messenger::send_leave(storage::ChannelRecord& channel, Effects& effects) {
  wire::Content content;
  auto* leave = content.mutable_channel_leave();
  leave->set_channel_id(as_chars(channel.id).data(), channel.id.size());
  leave->set_epoch(static_cast<uint64_t>(channel.epoch));
  SOTTO_RETURN_IF_ERROR(commit_direct(channel.admin, std::move(content), effects.out));
  SOTTO_RETURN_IF_ERROR(
      storage::OutboxRepo(account_.db()).remove_for_conversation(conversation_of(channel)));
  channel.state = storage::ChannelState::kLeft;
  // Gone from here at once: our transmission and what we hear on the channel end with it.
  if (hooks_.roster_changed) hooks_.roster_changed(channel.id, {}, false);
  return storage::ChannelRepo(account_.db()).save(channel);
}

Result<ChannelInfo> Messenger::leave_channel(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(name));
  if (channel.state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + channel.name);
  }
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel.id));
  if (channel.admin == account_.fingerprint()) {
    // Without its admin nobody could change the roster any more: the channel closes.
    std::vector<std::string> recipients;
    for (const auto& m : members) {
      if (m.fingerprint != account_.fingerprint()) recipients.push_back(m.fingerprint);
    }
    Status changed = in_transaction([&](Effects& effects) {
      return issue_roster(channel, members, "dissolved", {}, true, recipients, effects);
    });
    if (!changed.is_ok()) return changed;
    return channel_info(channel);
  }
  Status changed = in_transaction([&](Effects& effects) -> Status {
    SOTTO_RETURN_IF_ERROR(send_leave(channel, effects));
    return record_channel_event(channel, account_.fingerprint(), "left", account_.fingerprint(),
                                account_.name() + " left #" + channel.name, effects);
  });
  if (!changed.is_ok()) return changed;
  return channel_info(channel);
}

// --- membership (every member) ------------------------------------------------------------------

Status Messenger::apply_roster(const std::string& from, const wire::Roster& roster,
                               ByteView update_blob, bool invitation, Effects& effects) {
  storage::ChannelRepo repo(account_.db());
  const Bytes channel_id = bytes_of(roster.channel_id());
  SOTTO_ASSIGN_OR_RETURN(auto existing, repo.find(channel_id));
  storage::ChannelRecord channel;
  std::vector<storage::ChannelMemberRecord> before;
  if (existing) {
    channel = *existing;
    SOTTO_ASSIGN_OR_RETURN(before, repo.members(channel_id));
  } else {
    channel.id = channel_id;
    channel.name = roster.name();
    channel.created_at = clock_.wall_ms();
    SOTTO_ASSIGN_OR_RETURN(auto clash, repo.find_by_name(channel.name));
    if (clash) channel.name += "-" + to_hex(channel_id).substr(0, 4);
  }
  const storage::ChannelState previous =
      existing ? existing->state : storage::ChannelState::kRemoved;
  channel.admin_key = bytes_of(roster.admin_key());
  channel.admin = crypto::fingerprint_of(channel.admin_key);
  channel.epoch = static_cast<int64_t>(roster.epoch());
  channel.locked = roster.locked();
  channel.strict = roster.strict();
  channel.free_voice = roster.free_voice();
  channel.id_nonce = bytes_of(roster.id_nonce());
  channel.update_blob.assign(update_blob.begin(), update_blob.end());
  std::vector<storage::ChannelMemberRecord> members;
  bool listed = false;
  for (const auto& m : roster.members()) {
    const Bytes key = bytes_of(m.identity_key());
    const std::string fingerprint = crypto::fingerprint_of(key);
    listed = listed || fingerprint == account_.fingerprint();
    members.push_back({fingerprint, m.name(), key, 0});
  }
  if (roster.dissolved()) {
    channel.state = storage::ChannelState::kDissolved;
  } else if (listed) {
    channel.state = invitation ? storage::ChannelState::kInvited : storage::ChannelState::kMember;
  } else if (previous != storage::ChannelState::kLeft) {
    channel.state = storage::ChannelState::kRemoved;
  }
  SOTTO_RETURN_IF_ERROR(repo.save(channel));
  SOTTO_RETURN_IF_ERROR(repo.set_members(channel_id, members));
  if (channel.state == storage::ChannelState::kMember) {
    // Every membership change starts a new sender key: a removed member's copy of the old one
    // opens nothing sent from now on, and a new member cannot read what came before.
    SOTTO_RETURN_IF_ERROR(rotate_own_key(channel));
  } else if (previous == storage::ChannelState::kMember) {
    SOTTO_RETURN_IF_ERROR(
        storage::OutboxRepo(account_.db()).remove_for_conversation(conversation_of(channel)));
  }

  // The audit trail: who changed what, and the code everyone should now read aloud.
  const std::string subject_key = roster.subject_key();
  std::string subject_fingerprint;
  std::string subject_name;
  for (const auto* list : {&members, &before}) {
    for (const auto& m : *list) {
      if (!subject_key.empty() && as_chars(m.identity_key) == subject_key) {
        subject_fingerprint = m.fingerprint;
        subject_name = m.name;
      }
    }
  }
  if (!subject_fingerprint.empty()) {
    if (subject_fingerprint == account_.fingerprint()) {
      subject_name = account_.name();
    } else {
      auto contact = storage::ContactRepo(account_.db()).find(subject_fingerprint);
      if (contact.is_ok() && contact.value()) subject_name = contact.value()->name;
    }
  }
  std::vector<Bytes> keys;
  for (const auto& m : members) keys.push_back(m.identity_key);
  const std::string code =
      channel_security_code(channel.id, channel.admin_key, flags_of(channel), roster.epoch(), keys);
  const std::string admin_name = name_of(channel.admin);
  const std::string& change = roster.change();
  std::string text;
  if (change == "created") {
    text = admin_name + " created #" + channel.name;
  } else if (change == "invited") {
    text = admin_name + " invited " + subject_name;
  } else if (change == "removed") {
    text = admin_name + " removed " + subject_name + "; every member's sender key rotates";
  } else if (change == "left") {
    text = subject_name + " left; every member's sender key rotates";
  } else if (change == "dissolved") {
    text = admin_name + " closed #" + channel.name;
  } else {
    text = admin_name + " changed the members of #" + channel.name;
  }
  if (!roster.dissolved()) text += " (security code " + code + ")";
  (void)from;
  if (!existing && change != "created") {
    // A newcomer's trail starts where the channel did.
    SOTTO_RETURN_IF_ERROR(record_channel_event(channel, channel.admin, "created", channel.admin,
                                               admin_name + " created #" + roster.name(), effects,
                                               static_cast<int64_t>(roster.created_at())));
  }
  if (hooks_.roster_changed) {
    // Nobody off the roster may go on hearing or talking in a live transmission (DESIGN §7).
    std::vector<std::string> fingerprints;
    for (const auto& m : members) fingerprints.push_back(m.fingerprint);
    hooks_.roster_changed(channel.id, fingerprints,
                          channel.state == storage::ChannelState::kMember);
  }
  SOTTO_RETURN_IF_ERROR(record_channel_event(
      channel, channel.admin, change.empty() ? "changed" : change, subject_fingerprint, text,
      effects, static_cast<int64_t>(roster.issued_at())));
  if (channel.state == storage::ChannelState::kInvited && !existing) {
    // Not joined: an admin we have not verified asks. The user decides (accept or decline).
    effects.events.push_back(Event{
        clock_.wall_ms(),
        AlertEvent{"channel-invitation", admin_name + " (not verified by you) invites you to #" +
                                             channel.name + ": sotto channel accept " +
                                             channel.name + ", or decline"}});
    return record_channel_event(channel, channel.admin, "invitation", account_.fingerprint(),
                                admin_name + " invites you to #" + channel.name +
                                    "; nothing is sent to it until you accept",
                                effects);
  }
  if (channel.state == storage::ChannelState::kMember) introduce_new_members(members, before);
  return Status::ok();
}

void Messenger::introduce_new_members(const std::vector<storage::ChannelMemberRecord>& members,
                                      const std::vector<storage::ChannelMemberRecord>& before) {
  if (!hooks_.introduce) return;
  for (const auto& m : members) {
    if (m.fingerprint == account_.fingerprint()) continue;
    const bool known = std::any_of(before.begin(), before.end(),
                                   [&](const auto& b) { return b.fingerprint == m.fingerprint; });
    if (!known) hooks_.introduce(m.fingerprint);
  }
}

Result<bool> Messenger::verified(const std::string& fingerprint, const Bytes& identity_key) {
  if (fingerprint == account_.fingerprint()) return true;
  SOTTO_ASSIGN_OR_RETURN(auto contact, storage::ContactRepo(account_.db()).find(fingerprint));
  return contact && contact->trust == storage::Trust::kVerified &&
         contact->identity_key == identity_key;
}

Status Messenger::apply_update(const std::string& from, const wire::ChannelUpdate& update,
                               Effects& effects) {
  auto roster = open_channel_update(update);
  // A refused change is still acknowledged (it stays refused on every retry) and counted.
  auto reject = [&](const std::string&) {
    hooks_.count(Counter::channel_update_rejected, 1);
    return Status::ok();
  };
  if (!roster.is_ok()) return reject(roster.status().message());
  const Bytes admin_key = bytes_of(roster.value().admin_key());
  // The admin sends its rosters itself: one relayed by anyone else is a replay.
  if (crypto::fingerprint_of(admin_key) != from) return reject("not from the admin");
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto existing, repo.find(bytes_of(roster.value().channel_id())));
  bool invitation = false;
  if (existing) {
    if (existing->admin_key != admin_key) return reject("signed by someone else than the admin");
    if (static_cast<int64_t>(roster.value().epoch()) <= existing->epoch) {
      return reject("old epoch");
    }
    invitation = existing->state == storage::ChannelState::kInvited;
  } else {
    bool listed = false;
    for (const auto& m : roster.value().members()) {
      listed =
          listed || crypto::fingerprint_of(bytes_of(m.identity_key())) == account_.fingerprint();
    }
    if (!listed) return reject("a roster of a channel we are not in");
    SOTTO_ASSIGN_OR_RETURN(int64_t held, repo.count_by_admin(from));
    if (held >= kMaxChannelsPerAdmin) return reject("too many channels from one admin");
    // Joining is silent only when we verified the admin ourselves; else it is an invitation.
    SOTTO_ASSIGN_OR_RETURN(const bool admin_verified, verified(from, admin_key));
    invitation = !admin_verified;
  }
  SOTTO_RETURN_IF_ERROR(apply_roster(from, roster.value(), as_bytes(update.SerializeAsString()),
                                     invitation, effects));
  SOTTO_ASSIGN_OR_RETURN(
      auto stored, storage::ChannelRepo(account_.db()).find(bytes_of(roster.value().channel_id())));
  return stored ? share_own_key(*stored, effects) : Status::ok();
}

Status Messenger::apply_leave(const std::string& from, const wire::ChannelLeave& leave,
                              Effects& effects) {
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto channel, repo.find(bytes_of(leave.channel_id())));
  if (!channel || channel->admin != account_.fingerprint() ||
      channel->state != storage::ChannelState::kMember) {
    hooks_.count(Counter::channel_leave_ignored, 1);
    return Status::ok();
  }
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel->id));
  std::vector<storage::ChannelMemberRecord> remaining;
  std::vector<std::string> recipients = {from};
  Bytes subject_key;
  for (const auto& m : members) {
    if (m.fingerprint == from) {
      subject_key = m.identity_key;
      continue;
    }
    remaining.push_back(m);
    if (m.fingerprint != account_.fingerprint()) recipients.push_back(m.fingerprint);
  }
  if (subject_key.empty()) {
    hooks_.count(Counter::channel_leave_ignored, 1);
    return Status::ok();
  }
  return issue_roster(*channel, remaining, "left", subject_key, false, recipients, effects);
}

// --- sender keys --------------------------------------------------------------------------------

Status Messenger::rotate_own_key(storage::ChannelRecord& channel) {
  channel.key_generation += 1;
  channel.key_uses = 0;
  SOTTO_ASSIGN_OR_RETURN(channel.own_key, account_.signal().own_sender_key(sender_key_group(
                                              channel.id, channel.key_generation)));
  return storage::ChannelRepo(account_.db()).save(channel);
}

Status Messenger::share_own_key(const storage::ChannelRecord& channel, Effects& effects) {
  if (channel.state != storage::ChannelState::kMember || channel.own_key.empty()) {
    return Status::ok();
  }
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel.id));
  for (const auto& m : members) {
    if (m.fingerprint == account_.fingerprint() || m.key_shared >= channel.key_generation) continue;
    SOTTO_ASSIGN_OR_RETURN(bool has_session, account_.signal().has_session(m.fingerprint));
    if (!has_session) continue;  // channel_upkeep starts one
    wire::Content content;
    auto* key = content.mutable_sender_key();
    key->set_channel_id(as_chars(channel.id).data(), channel.id.size());
    key->set_generation(static_cast<uint32_t>(channel.key_generation));
    key->set_distribution(as_chars(channel.own_key).data(), channel.own_key.size());
    SOTTO_RETURN_IF_ERROR(commit_direct(m.fingerprint, std::move(content), effects.out));
    SOTTO_RETURN_IF_ERROR(repo.set_key_shared(channel.id, m.fingerprint, channel.key_generation));
    hooks_.count(Counter::sender_keys_shared, 1);
  }
  return Status::ok();
}

Status Messenger::apply_sender_key(const std::string& from, const wire::SenderKey& key) {
  storage::ChannelRepo repo(account_.db());
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
  Status stored = account_.signal().process_sender_key(
      sender_key_group(channel_id, key.generation()), from, as_bytes(key.distribution()));
  if (!stored.is_ok()) {
    hooks_.count(Counter::sender_key_rejected, 1);
    return Status::ok();  // malformed: acknowledged, it would never get better
  }
  hooks_.count(Counter::sender_keys_received, 1);
  return Status::ok();
}

Status Messenger::record_channel_event(const storage::ChannelRecord& channel,
                                       const std::string& actor, const std::string& change,
                                       const std::string& subject, const std::string& text,
                                       Effects& effects, int64_t at_ms) {
  storage::MessageRecord record;
  record.message_id = crypto::random_bytes(net::kMessageIdSize);
  record.conversation = conversation_of(channel);
  record.sender = actor;
  record.outgoing = actor == account_.fingerprint();
  record.kind = storage::MessageKind::kSystem;
  record.body = text;
  record.received_at = clock_.wall_ms();
  record.sent_at = at_ms > 0 ? at_ms : record.received_at;
  record.state = storage::MessageState::kReceived;
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(account_.db()).insert(record));
  (void)row;
  effects.events.push_back(
      Event{clock_.wall_ms(),
            MessageEvent{message_info(record, name_of(actor), Trust::kUnverified, channel.name)}});
  SOTTO_ASSIGN_OR_RETURN(ChannelInfo info, channel_info(channel));
  effects.events.push_back(Event{clock_.wall_ms(), ChannelEvent{info, change, actor, subject}});
  return Status::ok();
}

void Messenger::channel_upkeep() {
  auto channels = storage::ChannelRepo(account_.db()).list();
  if (!channels.is_ok()) return;
  bool share = false;
  for (const auto& channel : channels.value()) {
    if (channel.state != storage::ChannelState::kMember) continue;
    auto members = storage::ChannelRepo(account_.db()).members(channel.id);
    if (!members.is_ok()) continue;
    for (const auto& m : members.value()) {
      if (m.fingerprint == account_.fingerprint() || m.key_shared >= channel.key_generation) {
        continue;
      }
      auto has_session = account_.signal().has_session(m.fingerprint);
      if (!has_session.is_ok()) continue;
      if (has_session.value()) {
        share = true;
        continue;
      }
      // The lower fingerprint starts the session; the other waits for its first message.
      if (account_.fingerprint() > m.fingerprint || member_sessions_pending_.count(m.fingerprint)) {
        continue;
      }
      auto peer = hooks_.peer(m.fingerprint);
      if (!is_online(peer) || peer->identity_key != m.identity_key) continue;
      member_sessions_pending_.insert(m.fingerprint);
      auto contact = storage::ContactRepo(account_.db()).find(m.fingerprint);
      const std::string name = contact.is_ok() && contact.value() ? contact.value()->name : m.name;
      const std::string fingerprint = m.fingerprint;
      add_contact(fingerprint, name, [this, fingerprint](Result<ContactInfo> added) {
        member_sessions_pending_.erase(fingerprint);
        upkeep_at_ms_ = 0;
        if (!added.is_ok()) hooks_.count(Counter::member_session_failed, 1);
      });
    }
  }
  if (!share) return;
  Status status = in_transaction([&](Effects& effects) -> Status {
    for (const auto& channel : channels.value()) {
      SOTTO_RETURN_IF_ERROR(share_own_key(channel, effects));
    }
    return Status::ok();
  });
  if (!status.is_ok()) hooks_.count(Counter::sender_key_share_failed, 1);
}

// --- channel text -------------------------------------------------------------------------------

Status Messenger::commit_group_text(const QueuedSend& send, Committed& out) {
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto fresh, repo.find(send.channel->id));
  if (!fresh || fresh->state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + send.channel->name);
  }
  storage::ChannelRecord channel = *fresh;
  Effects effects;
  SOTTO_RETURN_IF_ERROR(rotate_if_worn(channel, effects));
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
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(account_.db()).insert(message));
  if (!row) return Status::internal("message id collision");
  SOTTO_ASSIGN_OR_RETURN(Bytes frame, group_frame(channel, message.message_id, std::move(content)));
  SOTTO_ASSIGN_OR_RETURN(auto members, repo.members(channel.id));
  storage::OutboxRepo outbox(account_.db());
  SOTTO_RETURN_IF_ERROR(outbox.add_shared_frame(*row, frame));
  for (const auto& m : members) {
    if (m.fingerprint == account_.fingerprint()) continue;
    SOTTO_ASSIGN_OR_RETURN(int64_t outbox_id, outbox.add_shared_to(*row, m.fingerprint));
    out.out.push_back({m.fingerprint, outbox_id, *row, frame});
  }
  out.info = message_info(message, account_.name(), Trust::kVerified, channel.name);
  return Status::ok();
}

Status Messenger::rotate_if_worn(storage::ChannelRecord& channel, Effects& effects) {
  if (channel.key_uses < kRotateAfterMessages) return Status::ok();
  SOTTO_RETURN_IF_ERROR(rotate_own_key(channel));
  SOTTO_RETURN_IF_ERROR(share_own_key(channel, effects));
  return record_channel_event(channel, account_.fingerprint(), "rotated", account_.fingerprint(),
                              account_.name() + "'s sender key rotated after " +
                                  std::to_string(kRotateAfterMessages) + " messages",
                              effects);
}

Result<Bytes> Messenger::group_frame(const storage::ChannelRecord& channel, ByteView message_id,
                                     wire::Content content) {
  SOTTO_ASSIGN_OR_RETURN(Bytes plaintext, net::encode_content(std::move(content)));
  auto ciphertext = account_.signal().group_encrypt(
      sender_key_group(channel.id, channel.key_generation), plaintext);
  wipe(plaintext.data(), plaintext.size());
  if (!ciphertext.is_ok()) return ciphertext.status();
  wire::Envelope envelope;
  auto* group = envelope.mutable_group();
  group->set_channel_id(as_chars(channel.id).data(), channel.id.size());
  group->set_body(as_chars(ciphertext.value()).data(), ciphertext.value().size());
  group->set_message_id(as_chars(message_id).data(), message_id.size());
  group->set_generation(static_cast<uint32_t>(channel.key_generation));
  SOTTO_RETURN_IF_ERROR(storage::ChannelRepo(account_.db()).add_key_use(channel.id));
  return net::encode_frame(std::move(envelope));
}

Status Messenger::receive_group(const Received& item, Effects& effects) {
  const wire::GroupMessage& g = item.envelope.group();
  const Bytes channel_id = bytes_of(g.channel_id());
  const Bytes message_id = bytes_of(g.message_id());
  if (channel_id.size() != net::kChannelIdSize || message_id.size() != net::kMessageIdSize) {
    hooks_.count(Counter::group_dropped_malformed, 1);
    return Status::corruption("channel message without channel or id");
  }
  storage::ChannelRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto channel, repo.find(channel_id));
  // Not acknowledged, so the author tries again: its roster or key may still be on the way.
  if (!channel || channel->state != storage::ChannelState::kMember) {
    hooks_.count(Counter::group_dropped_not_member, 1);
    return Status::unavailable("not a member of that channel");
  }
  SOTTO_ASSIGN_OR_RETURN(bool member, repo.is_member(channel_id, item.from));
  if (!member) {
    hooks_.count(Counter::group_dropped_not_member, 1);
    return Status::unavailable("the author is not on the roster");
  }
  storage::MessageRepo messages(account_.db());
  // A retry of a message already archived: acknowledged again without the signature check
  // and decryption (the costly part), which would only find the same duplicate.
  SOTTO_ASSIGN_OR_RETURN(auto archived, messages.find_row(item.from, message_id));
  if (archived) {
    hooks_.count(Counter::message_duplicates, 1);
    effects.receipts[item.from].push_back(message_id);
    return Status::ok();
  }
  auto plaintext = account_.signal().group_decrypt(sender_key_group(channel_id, g.generation()),
                                                   item.from, as_bytes(g.body()));
  if (!plaintext.is_ok()) {
    if (crypto::is_duplicate(plaintext.status())) {
      hooks_.count(Counter::message_duplicates, 1);
      auto row = messages.find_row(item.from, message_id);
      if (row.is_ok() && row.value()) effects.receipts[item.from].push_back(message_id);
      return Status::ok();
    }
    hooks_.count(plaintext.status().code() == StatusCode::kNotFound
                     ? Counter::group_dropped_no_key
                     : Counter::group_dropped_invalid,
                 1);
    return Status::unavailable(plaintext.status().message());
  }
  auto content = net::decode_content(plaintext.value());
  wipe(plaintext.value().data(), plaintext.value().size());
  if (content.is_ok() && !content.value().has_text()) {
    return receive_voice(item.from, *channel, content.value(), effects);
  }
  if (!content.is_ok() || !content.value().has_text() ||
      content.value().text().id() != g.message_id() ||
      content.value().text().channel_id() != g.channel_id()) {
    hooks_.count(Counter::group_dropped_content, 1);
    return Status::corruption("channel message content does not match its envelope");
  }
  const wire::Text& text = content.value().text();
  storage::MessageRecord record;
  record.message_id = message_id;
  record.conversation = conversation_of(*channel);
  record.sender = item.from;
  record.body = text.body();
  record.sent_at = static_cast<int64_t>(text.sent_at());
  record.received_at = clock_.wall_ms();
  record.state = storage::MessageState::kReceived;
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row, messages.insert(record));
  effects.receipts[item.from].push_back(message_id);
  if (!row) {
    hooks_.count(Counter::message_duplicates, 1);
    return Status::ok();
  }
  hooks_.count(Counter::group_messages_received, 1);
  auto contact = storage::ContactRepo(account_.db()).find(item.from);
  const bool known = contact.is_ok() && contact.value();
  const Trust trust = known ? trust_of(contact.value()->trust) : Trust::kUnverified;
  const std::string name = known ? contact.value()->name : name_of(item.from);
  effects.events.push_back(
      Event{clock_.wall_ms(), MessageEvent{message_info(record, name, trust, channel->name)}});
  return Status::ok();
}

}  // namespace sotto::core
