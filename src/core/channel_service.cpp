#include "src/core/channel_service.h"
#include "src/core/account_internals.h"

#include <algorithm>
#include <set>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/expiry_repo.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/outbox_repo.h"
#include "src/core/channel_roster.h"
#include "src/core/contact_book.h"
#include "src/core/message_ledger.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/core/sender_keys.h"
#include "src/net/content.h"

namespace sotto::core {
namespace {

// Channels (and invitations) one admin can make us hold: each costs a roster and a sender key.
constexpr int64_t kMaxChannelsPerAdmin = 64;

std::string bare_name(const std::string& name) {
  return !name.empty() && name.front() == '#' ? name.substr(1) : name;
}

ChannelState state_of(storage::ChannelState state) {
  switch (state) {
    case storage::ChannelState::kMember:
      return ChannelState::kMember;
    case storage::ChannelState::kRemoved:
      return ChannelState::kRemoved;
    case storage::ChannelState::kLeft:
      return ChannelState::kLeft;
    case storage::ChannelState::kDissolved:
      return ChannelState::kDissolved;
    case storage::ChannelState::kInvited:
      return ChannelState::kInvited;
  }
  return ChannelState::kRemoved;
}

// The roster's fields on our record of the channel (its state is decided apart).
void take_roster(storage::ChannelRecord& channel, const wire::Roster& roster,
                 ByteView update_blob) {
  channel.admin_key = bytes_of(roster.admin_key());
  channel.admin = crypto::fingerprint_of(channel.admin_key);
  channel.epoch = static_cast<int64_t>(roster.epoch());
  channel.locked = roster.locked();
  channel.strict = roster.strict();
  channel.free_voice = roster.free_voice();
  channel.id_nonce = bytes_of(roster.id_nonce());
  channel.update_blob.assign(update_blob.begin(), update_blob.end());
}

bool lists(const std::vector<storage::ChannelMemberRecord>& members,
           const std::string& fingerprint) {
  return std::any_of(members.begin(), members.end(),
                     [&](const auto& m) { return m.fingerprint == fingerprint; });
}

// `newcomers` join the roster `members` in `change`, and are told so (`recipients`).
void admit(const std::vector<storage::ContactRecord>& newcomers,
           std::vector<storage::ChannelMemberRecord>& members, std::vector<std::string>& recipients,
           RosterChange& change) {
  for (const auto& contact : newcomers) {
    members.push_back({contact.fingerprint, contact.name, contact.identity_key, 0, {}});
    recipients.push_back(contact.fingerprint);
    change.subject_keys.push_back(contact.identity_key);
  }
}

}  // namespace

ChannelService::ChannelService(Account& account, const Clock& clock, const MessengerHooks& hooks,
                               ContactBook& contacts, MessageLedger& ledger, SenderKeys& keys)
    : account_(account),
      clock_(clock),
      hooks_(hooks),
      contacts_(contacts),
      ledger_(ledger),
      keys_(keys) {}

// --- reading ------------------------------------------------------------------------------------

Result<storage::ChannelRecord> ChannelService::resolve(const std::string& name) {
  const std::string bare = bare_name(name);
  if (bare.empty()) return Status::invalid_argument("no channel given");
  SOTTO_ASSIGN_OR_RETURN(auto channel,
                         storage::ChannelRepo(AccountInternals::db(account_)).find_by_name(bare));
  if (!channel) {
    return Status::invalid_argument("unknown channel #" + bare + " (see sotto channel list)");
  }
  return *channel;
}

Result<ChannelMember> ChannelService::member_view(const storage::ChannelRecord& channel,
                                                  const storage::ChannelMemberRecord& m,
                                                  bool admin_verified,
                                                  const std::string& admin_name) {
  ChannelMember member;
  member.fingerprint = m.fingerprint;
  member.name = m.name;
  member.identity_key = m.identity_key;
  member.admin = m.fingerprint == channel.admin;
  member.online = is_online(hooks_.peer(m.fingerprint));
  SOTTO_ASSIGN_OR_RETURN(auto contact,
                         storage::ContactRepo(AccountInternals::db(account_)).find(m.fingerprint));
  if (contact) member.name = contact->name;
  if (m.fingerprint == account_.fingerprint()) {
    member.trust = MemberTrust::kMe;
    member.online = true;
  } else if (contact && contact->trust == storage::Trust::kVerified &&
             contact->identity_key == m.identity_key) {
    member.trust = MemberTrust::kVerified;
  } else if (admin_verified && channel.admin != account_.fingerprint() && !member.admin) {
    // We did not check this key ourselves: it came in the roster an admin we verified signed.
    member.trust = MemberTrust::kVouched;
    member.vouched_by = admin_name;
  } else {
    member.trust = MemberTrust::kUnverified;
  }
  return member;
}

Result<ChannelInfo> ChannelService::info(const storage::ChannelRecord& channel) {
  SOTTO_ASSIGN_OR_RETURN(auto members,
                         storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
  ChannelInfo info;
  info.id = to_hex(channel.id);
  info.name = channel.name;
  info.admin = channel.admin;
  info.admin_name = contacts_.name_of(channel.admin);
  info.epoch = static_cast<uint64_t>(channel.epoch);
  info.locked = channel.locked;
  info.strict = channel.strict;
  info.state = state_of(channel.state);
  SOTTO_ASSIGN_OR_RETURN(const bool admin_verified, verified(channel.admin, channel.admin_key));
  for (const auto& m : members) {
    SOTTO_ASSIGN_OR_RETURN(ChannelMember member,
                           member_view(channel, m, admin_verified, info.admin_name));
    info.members.push_back(std::move(member));
  }
  info.security_code = roster_security_code(channel, info.epoch, members);
  info.free_voice = channel.free_voice;
  auto expiry = storage::ExpiryRepo(AccountInternals::db(account_)).get(conversation_of(channel));
  if (expiry.is_ok() && expiry.value()) info.expire_ms = expiry.value()->expire_ms;
  if (hooks_.describe_channel) hooks_.describe_channel(info);
  return info;
}

Result<std::vector<ChannelInfo>> ChannelService::list() {
  SOTTO_ASSIGN_OR_RETURN(auto records, storage::ChannelRepo(AccountInternals::db(account_)).list());
  std::vector<ChannelInfo> out;
  for (const auto& c : records) {
    SOTTO_ASSIGN_OR_RETURN(ChannelInfo channel_info, info(c));
    out.push_back(std::move(channel_info));
  }
  return out;
}

Result<bool> ChannelService::verified(const std::string& fingerprint, const Bytes& identity_key) {
  if (fingerprint == account_.fingerprint()) return true;
  SOTTO_ASSIGN_OR_RETURN(auto contact,
                         storage::ContactRepo(AccountInternals::db(account_)).find(fingerprint));
  return contact && contact->trust == storage::Trust::kVerified &&
         contact->identity_key == identity_key;
}

// --- membership (admin) -------------------------------------------------------------------------

Result<ChannelInfo> ChannelService::create(const std::string& name, bool strict, bool free_voice,
                                           const std::vector<std::string>& peers) {
  const std::string bare = bare_name(name);
  if (bare.empty() || bare.size() > Account::kMaxNameBytes || !net::is_valid_utf8(bare) ||
      bare.find_first_of(" \t\r\n#") != std::string::npos) {
    return Status::invalid_argument("bad channel name '" + name +
                                    "': 1 to 64 bytes of UTF-8, no spaces or '#'");
  }
  SOTTO_ASSIGN_OR_RETURN(auto existing,
                         storage::ChannelRepo(AccountInternals::db(account_)).find_by_name(bare));
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
  std::vector<storage::ChannelMemberRecord> members = {
      {account_.fingerprint(), account_.name(), account_.identity_key(), 0, {}}};
  std::vector<std::string> recipients;
  RosterChange change{ChannelChange::kCreated, {}, false};
  if (!peers.empty()) {
    SOTTO_ASSIGN_OR_RETURN(auto newcomers, invitees(channel, members.size(), peers));
    admit(newcomers, members, recipients, change);
  }
  Status changed = ledger_.in_transaction([&](Effects& effects) {
    return issue_roster(channel, members, change, recipients, effects);
  });
  if (!changed.is_ok()) return changed;
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord created, resolve(bare));
  return info(created);
}

Status ChannelService::issue_roster(storage::ChannelRecord& channel,
                                    const std::vector<storage::ChannelMemberRecord>& members,
                                    const RosterChange& change,
                                    const std::vector<std::string>& recipients, Effects& effects) {
  const wire::Roster roster =
      next_roster(channel, members, change, account_.identity_key(), clock_.wall_ms());
  wire::ChannelUpdate update;
  update.set_roster(roster.SerializeAsString());
  SOTTO_ASSIGN_OR_RETURN(Bytes signature, AccountInternals::signal(account_).sign(
                                              roster_signing_input(as_bytes(update.roster()))));
  update.set_signature(as_chars(signature).data(), signature.size());
  const std::string update_blob = update.SerializeAsString();
  SOTTO_RETURN_IF_ERROR(apply_roster(roster, as_bytes(update_blob), false, effects));
  for (const auto& recipient : recipients) {
    wire::Content content;
    *content.mutable_channel_update() = update;
    SOTTO_RETURN_IF_ERROR(ledger_.commit_direct(recipient, std::move(content), effects.out));
  }
  SOTTO_ASSIGN_OR_RETURN(auto stored,
                         storage::ChannelRepo(AccountInternals::db(account_)).find(channel.id));
  if (stored) channel = *stored;
  return keys_.share_own(channel, effects);
}

Status ChannelService::check_admin(const storage::ChannelRecord& channel) {
  if (channel.state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + channel.name);
  }
  if (channel.admin != account_.fingerprint()) {
    return Status::invalid_argument("#" + channel.name + " is locked: only its admin (" +
                                    contacts_.name_of(channel.admin) + ") changes its members");
  }
  return Status::ok();
}

Status ChannelService::check_invitee(const storage::ChannelRecord& channel,
                                     const storage::ContactRecord& contact) {
  if (channel.strict && contact.trust != storage::Trust::kVerified) {
    return Status::invalid_argument(contact.name + " is not verified, and #" + channel.name +
                                    " admits verified contacts only: compare safety numbers "
                                    "with 'sotto verify " +
                                    contact.name + "', then add --confirm");
  }
  SOTTO_ASSIGN_OR_RETURN(bool already, storage::ChannelRepo(AccountInternals::db(account_))
                                           .is_member(channel.id, contact.fingerprint));
  if (already) {
    return Status::invalid_argument(contact.name + " is already a member of #" + channel.name);
  }
  SOTTO_ASSIGN_OR_RETURN(bool has_session,
                         AccountInternals::signal(account_).has_session(contact.fingerprint));
  if (!has_session) {
    return Status::invalid_argument("no session with " + contact.name + " yet; run: sotto add " +
                                    contact.name);
  }
  return Status::ok();
}

Result<std::vector<storage::ContactRecord>> ChannelService::invitees(
    const storage::ChannelRecord& channel, size_t member_count,
    const std::vector<std::string>& peers) {
  if (peers.empty()) return Status::invalid_argument("name at least one contact to invite");
  const size_t room = kMaxChannelMembers - std::min(member_count, kMaxChannelMembers);
  if (peers.size() > room) {
    return Status::invalid_argument("#" + channel.name + " has room for " + std::to_string(room) +
                                    " more members (a channel holds at most " +
                                    std::to_string(kMaxChannelMembers) + "); " +
                                    std::to_string(peers.size()) + " named");
  }
  std::vector<storage::ContactRecord> out;
  std::set<std::string> named;
  for (const std::string& peer : peers) {
    auto contact = contacts_.resolve(peer);
    if (!contact.is_ok()) {
      if (names_me(peer)) {
        return Status::invalid_argument("'" + peer + "' is you: the admin is in #" + channel.name +
                                        " from the start");
      }
      return contact.status();
    }
    if (!named.insert(contact.value().fingerprint).second) {
      return Status::invalid_argument("'" + peer + "' names " + contact.value().name +
                                      " a second time in one invite");
    }
    SOTTO_RETURN_IF_ERROR(check_invitee(channel, contact.value()));
    out.push_back(std::move(contact).value());
  }
  return out;
}

bool ChannelService::names_me(const std::string& peer) const {
  std::string lower = peer;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  const bool by_prefix = lower.size() >= 4 && account_.fingerprint().rfind(lower, 0) == 0;
  return peer == account_.name() || by_prefix;
}

Result<ChannelInfo> ChannelService::invite(const std::string& name,
                                           const std::vector<std::string>& peers) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve(name));
  SOTTO_RETURN_IF_ERROR(check_admin(channel));
  SOTTO_ASSIGN_OR_RETURN(auto members,
                         storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
  SOTTO_ASSIGN_OR_RETURN(auto newcomers, invitees(channel, members.size(), peers));
  std::vector<std::string> recipients;
  for (const auto& m : members) {
    if (m.fingerprint != account_.fingerprint()) recipients.push_back(m.fingerprint);
  }
  RosterChange change{ChannelChange::kInvited, {}, false};
  admit(newcomers, members, recipients, change);
  Status changed = ledger_.in_transaction([&](Effects& effects) {
    return issue_roster(channel, members, change, recipients, effects);
  });
  if (!changed.is_ok()) return changed;
  return info(channel);
}

Result<ChannelInfo> ChannelService::remove(const std::string& name, const std::string& peer) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve(name));
  SOTTO_RETURN_IF_ERROR(check_admin(channel));
  SOTTO_ASSIGN_OR_RETURN(auto members,
                         storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
  std::vector<storage::ChannelMemberRecord> matches;
  for (const auto& m : members) {
    const bool by_prefix = peer.size() >= 4 && m.fingerprint.rfind(peer, 0) == 0;
    if (m.name == peer || contacts_.name_of(m.fingerprint) == peer || by_prefix) {
      matches.push_back(m);
    }
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
  Status changed = ledger_.in_transaction([&](Effects& effects) {
    return issue_roster(channel, remaining,
                        {ChannelChange::kRemoved, {subject.identity_key}, false}, recipients,
                        effects);
  });
  if (!changed.is_ok()) return changed;
  return info(channel);
}

Result<ChannelInfo> ChannelService::accept(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve(name));
  if (channel.state != storage::ChannelState::kInvited) {
    return Status::invalid_argument("#" + channel.name + " is not an invitation waiting for you");
  }
  Status changed = ledger_.in_transaction([&](Effects& effects) -> Status {
    channel.state = storage::ChannelState::kMember;
    SOTTO_RETURN_IF_ERROR(keys_.rotate_own(channel));  // saves the new state too
    SOTTO_RETURN_IF_ERROR(keys_.share_own(channel, effects));
    return record_event(channel, account_.fingerprint(), ChannelChange::kJoined,
                        account_.fingerprint(),
                        account_.name() + " accepted the invitation to #" + channel.name, effects);
  });
  if (!changed.is_ok()) return changed;
  SOTTO_ASSIGN_OR_RETURN(auto members,
                         storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
  introduce_new_members(members, {});
  return info(channel);
}

Result<ChannelInfo> ChannelService::decline(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve(name));
  if (channel.state != storage::ChannelState::kInvited) {
    return Status::invalid_argument("#" + channel.name + " is not an invitation waiting for you");
  }
  return quit(channel, ChannelChange::kDeclined,
              account_.name() + " declined the invitation to #" + channel.name);
}

Result<ChannelInfo> ChannelService::leave(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve(name));
  if (channel.state != storage::ChannelState::kMember) {
    return Status::invalid_argument("you are no longer a member of #" + channel.name);
  }
  if (channel.admin != account_.fingerprint()) {
    return quit(channel, ChannelChange::kLeft, account_.name() + " left #" + channel.name);
  }
  // Without its admin nobody could change the roster any more: the channel closes.
  SOTTO_ASSIGN_OR_RETURN(auto members,
                         storage::ChannelRepo(AccountInternals::db(account_)).members(channel.id));
  std::vector<std::string> recipients;
  for (const auto& m : members) {
    if (m.fingerprint != account_.fingerprint()) recipients.push_back(m.fingerprint);
  }
  Status changed = ledger_.in_transaction([&](Effects& effects) {
    return issue_roster(channel, members, {ChannelChange::kDissolved, {}, true}, recipients,
                        effects);
  });
  if (!changed.is_ok()) return changed;
  return info(channel);
}

Result<ChannelInfo> ChannelService::quit(storage::ChannelRecord& channel, ChannelChange change,
                                         const std::string& text) {
  Status changed = ledger_.in_transaction([&](Effects& effects) -> Status {
    SOTTO_RETURN_IF_ERROR(send_leave(channel, effects));
    return record_event(channel, account_.fingerprint(), change, account_.fingerprint(), text,
                        effects);
  });
  if (!changed.is_ok()) return changed;
  return info(channel);
}

Status ChannelService::send_leave(storage::ChannelRecord& channel, Effects& effects) {
  wire::Content content;
  auto* leave = content.mutable_channel_leave();
  leave->set_channel_id(as_chars(channel.id).data(), channel.id.size());
  leave->set_epoch(static_cast<uint64_t>(channel.epoch));
  SOTTO_RETURN_IF_ERROR(ledger_.commit_direct(channel.admin, std::move(content), effects.out));
  SOTTO_RETURN_IF_ERROR(storage::OutboxRepo(AccountInternals::db(account_))
                            .remove_for_conversation(conversation_of(channel)));
  channel.state = storage::ChannelState::kLeft;
  // Gone from here at once: our transmission and what we hear on the channel end with it.
  if (hooks_.roster_changed) hooks_.roster_changed(channel.id, {}, false);
  return storage::ChannelRepo(AccountInternals::db(account_)).save(channel);
}

// --- membership (every member) ------------------------------------------------------------------

Status ChannelService::apply_roster(const wire::Roster& roster, ByteView update_blob,
                                    bool invitation, Effects& effects) {
  storage::ChannelRepo repo(AccountInternals::db(account_));
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
  take_roster(channel, roster, update_blob);
  const std::vector<storage::ChannelMemberRecord> members = roster_members(roster);
  if (roster.dissolved()) {
    channel.state = storage::ChannelState::kDissolved;
  } else if (lists(members, account_.fingerprint())) {
    channel.state = invitation ? storage::ChannelState::kInvited : storage::ChannelState::kMember;
  } else if (previous != storage::ChannelState::kLeft) {
    channel.state = storage::ChannelState::kRemoved;
  }
  SOTTO_RETURN_IF_ERROR(repo.save(channel));
  SOTTO_RETURN_IF_ERROR(repo.set_members(channel_id, members, channel.epoch));
  if (channel.state == storage::ChannelState::kMember) {
    // A removal starts a new sender key: the removed member's copy of the old one opens nothing
    // sent from now on. A join does not: newcomers get the key from where its chain stands now,
    // which opens nothing sent before (doc/security.md, Channels), so a join costs each member
    // one message per newcomer, not one to every member.
    const bool someone_gone = std::any_of(before.begin(), before.end(), [&](const auto& m) {
      return !lists(members, m.fingerprint);
    });
    if (previous != storage::ChannelState::kMember || someone_gone || channel.own_key.empty()) {
      SOTTO_RETURN_IF_ERROR(keys_.rotate_own(channel));
    } else {
      SOTTO_RETURN_IF_ERROR(keys_.offer_to_newcomers(channel, newcomers(members, before)));
    }
  } else if (previous == storage::ChannelState::kMember) {
    SOTTO_RETURN_IF_ERROR(storage::OutboxRepo(AccountInternals::db(account_))
                              .remove_for_conversation(conversation_of(channel)));
  }
  SOTTO_RETURN_IF_ERROR(
      record_roster(channel, existing.has_value(), roster, members, before, effects));
  if (channel.state == storage::ChannelState::kMember) introduce_new_members(members, before);
  return Status::ok();
}

Status ChannelService::record_roster(const storage::ChannelRecord& channel, bool existed,
                                     const wire::Roster& roster,
                                     const std::vector<storage::ChannelMemberRecord>& members,
                                     const std::vector<storage::ChannelMemberRecord>& before,
                                     Effects& effects) {
  // Whom the change concerns, by the names we know them by (a contact's name before the admin's).
  std::vector<std::string> subject_fingerprints;
  std::vector<std::string> subject_names;
  for (const Bytes& key : roster_subject_keys(roster)) {
    for (const auto* list : {&members, &before}) {
      auto it = std::find_if(list->begin(), list->end(),
                             [&](const auto& m) { return m.identity_key == key; });
      if (it == list->end()) continue;
      subject_fingerprints.push_back(it->fingerprint);
      subject_names.push_back(known_name(*it));
      break;
    }
  }
  const std::string subject_fingerprint =
      subject_fingerprints.empty() ? std::string() : subject_fingerprints.front();
  const std::string admin_name = contacts_.name_of(channel.admin);
  // A change this node has no name for (a newer peer's) is still a change of the members.
  const ChannelChange change =
      parse_channel_change(roster.change()).value_or(ChannelChange::kChanged);
  std::string text = roster_change_text(change, admin_name, subject_names, channel.name);
  if (!roster.dissolved())
    text += " (security code " + roster_security_code(channel, roster.epoch(), members) + ")";
  if (!existed && change != ChannelChange::kCreated) {
    // A newcomer's trail starts where the channel did.
    SOTTO_RETURN_IF_ERROR(record_event(channel, channel.admin, ChannelChange::kCreated,
                                       channel.admin, admin_name + " created #" + roster.name(),
                                       effects, static_cast<int64_t>(roster.created_at())));
  }
  if (hooks_.roster_changed) {
    // Nobody off the roster may go on hearing or talking in a live transmission (doc/guide.md,
    // Channels).
    std::vector<std::string> fingerprints;
    for (const auto& m : members) fingerprints.push_back(m.fingerprint);
    hooks_.roster_changed(channel.id, fingerprints,
                          channel.state == storage::ChannelState::kMember);
  }
  SOTTO_RETURN_IF_ERROR(record_event(channel, channel.admin, change, subject_fingerprint, text,
                                     effects, static_cast<int64_t>(roster.issued_at())));
  if (channel.state != storage::ChannelState::kInvited || existed) return Status::ok();
  // Not joined: an admin we have not verified asks. The user decides (accept or decline).
  effects.events.push_back(
      Event{clock_.wall_ms(),
            AlertEvent{AlertKind::kChannelInvitation,
                       admin_name + " (not verified by you) invites you to #" + channel.name +
                           ": sotto channel accept " + channel.name + ", or decline"}});
  return record_event(
      channel, channel.admin, ChannelChange::kInvitation, account_.fingerprint(),
      admin_name + " invites you to #" + channel.name + "; nothing is sent to it until you accept",
      effects);
}

std::string ChannelService::known_name(const storage::ChannelMemberRecord& member) {
  if (member.fingerprint == account_.fingerprint()) return account_.name();
  auto contact = storage::ContactRepo(AccountInternals::db(account_)).find(member.fingerprint);
  return contact.is_ok() && contact.value() ? contact.value()->name : member.name;
}

std::vector<std::string> ChannelService::newcomers(
    const std::vector<storage::ChannelMemberRecord>& members,
    const std::vector<storage::ChannelMemberRecord>& before) const {
  std::vector<std::string> out;
  for (const auto& m : members) {
    if (m.fingerprint != account_.fingerprint() && !lists(before, m.fingerprint)) {
      out.push_back(m.fingerprint);
    }
  }
  return out;
}

void ChannelService::introduce_new_members(
    const std::vector<storage::ChannelMemberRecord>& members,
    const std::vector<storage::ChannelMemberRecord>& before) {
  if (!hooks_.introduce) return;
  for (const auto& fingerprint : newcomers(members, before)) hooks_.introduce(fingerprint);
}

Result<std::optional<bool>> ChannelService::invitation_of(const std::string& from,
                                                          const wire::Roster& roster) {
  const Bytes admin_key = bytes_of(roster.admin_key());
  // The admin sends its rosters itself: one relayed by anyone else is a replay.
  if (crypto::fingerprint_of(admin_key) != from) return std::optional<bool>();
  storage::ChannelRepo repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto existing, repo.find(bytes_of(roster.channel_id())));
  if (existing) {
    // Signed by someone else than the admin, or an old epoch: refused.
    if (existing->admin_key != admin_key ||
        static_cast<int64_t>(roster.epoch()) <= existing->epoch) {
      return std::optional<bool>();
    }
    return std::optional<bool>(existing->state == storage::ChannelState::kInvited);
  }
  // A roster of a channel we are not in, or one admin making us hold too many: refused.
  if (!lists(roster_members(roster), account_.fingerprint())) return std::optional<bool>();
  SOTTO_ASSIGN_OR_RETURN(int64_t held, repo.count_by_admin(from));
  if (held >= kMaxChannelsPerAdmin) return std::optional<bool>();
  // Joining is silent only when we verified the admin ourselves; else it is an invitation.
  SOTTO_ASSIGN_OR_RETURN(const bool admin_verified, verified(from, admin_key));
  return std::optional<bool>(!admin_verified);
}

Status ChannelService::apply_update(const std::string& from, const wire::ChannelUpdate& update,
                                    Effects& effects) {
  auto roster = open_channel_update(update);
  std::optional<bool> invitation;
  if (roster.is_ok()) {
    SOTTO_ASSIGN_OR_RETURN(invitation, invitation_of(from, roster.value()));
  }
  if (!invitation) {
    // A refused change is still acknowledged (it stays refused on every retry) and counted.
    hooks_.count(Counter::channel_update_rejected, 1);
    return Status::ok();
  }
  SOTTO_RETURN_IF_ERROR(
      apply_roster(roster.value(), as_bytes(update.SerializeAsString()), *invitation, effects));
  SOTTO_ASSIGN_OR_RETURN(auto stored, storage::ChannelRepo(AccountInternals::db(account_))
                                          .find(bytes_of(roster.value().channel_id())));
  return stored ? keys_.share_own(*stored, effects) : Status::ok();
}

Status ChannelService::apply_leave(const std::string& from, const wire::ChannelLeave& leave,
                                   Effects& effects) {
  storage::ChannelRepo repo(AccountInternals::db(account_));
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
  return issue_roster(*channel, remaining, {ChannelChange::kLeft, {subject_key}, false}, recipients,
                      effects);
}

// --- sender keys and the audit trail ------------------------------------------------------------

Status ChannelService::rotate_if_worn(storage::ChannelRecord& channel, Effects& effects) {
  if (channel.key_uses < kRotateAfterMessages) return Status::ok();
  SOTTO_RETURN_IF_ERROR(keys_.rotate_own(channel));
  SOTTO_RETURN_IF_ERROR(keys_.share_own(channel, effects));
  return record_event(channel, account_.fingerprint(), ChannelChange::kRotated,
                      account_.fingerprint(),
                      account_.name() + "'s sender key rotated after " +
                          std::to_string(kRotateAfterMessages) + " messages",
                      effects);
}

Status ChannelService::record_event(const storage::ChannelRecord& channel, const std::string& actor,
                                    ChannelChange change, const std::string& subject,
                                    const std::string& text, Effects& effects, int64_t at_ms) {
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
                         storage::MessageRepo(AccountInternals::db(account_)).insert(record));
  (void)row;
  effects.events.push_back(
      Event{clock_.wall_ms(), MessageEvent{message_info(record, contacts_.name_of(actor),
                                                        Trust::kUnverified, channel.name)}});
  SOTTO_ASSIGN_OR_RETURN(ChannelInfo channel_info, info(channel));
  effects.events.push_back(
      Event{clock_.wall_ms(), ChannelEvent{channel_info, change, actor, subject}});
  return Status::ok();
}

}  // namespace sotto::core
