// ChannelService: channels (doc/guide.md, Channels) — the admin's signed roster, invitations,
// joining and leaving, and the audit trail each change leaves in the channel's history.
//
//   membership: the admin signs the roster of the next epoch and sends it to every member (and
//               to whoever was removed) over the 1:1 sessions, through the outbox like text. A
//               member applies a roster only when the admin's key signed it and its epoch is
//               newer than the one it holds. One change may add many members (one epoch, one
//               signature, one security code). After a removal every member starts a new sender
//               key; after a join, each hands the newcomers its current one (SenderKeys).
//   invitation: a roster that lists us from an admin we have not verified leaves the channel
//               invited: nothing is sent to it until the user accepts (or declines: a leave).
//   text:       encrypted once under the author's sender key (SenderKeys), one outbox entry per
//               member, a receipt from each; "delivered" when every member has acknowledged it.
// Thread-safety: the node's loop thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/events.h"
#include "sotto/storage/channel_repo.h"
#include "sotto/storage/contact_repo.h"
#include "src/core/channel_roster.h"
#include "src/core/commit_effects.h"

namespace sotto::core {

struct MessengerHooks;
class ContactBook;
class MessageLedger;
class SenderKeys;

class ChannelService {
 public:
  ChannelService(Account& account, const Clock& clock, const MessengerHooks& hooks,
                 ContactBook& contacts, MessageLedger& ledger, SenderKeys& keys);

  // --- reading ---
  // "#name" or "name"; InvalidArgument for an unknown channel.
  Result<storage::ChannelRecord> resolve(const std::string& name);
  Result<ChannelInfo> info(const storage::ChannelRecord& channel);
  Result<std::vector<ChannelInfo>> list();

  // --- front ends ---
  // `peers` (contact names or fingerprint prefixes) are members from the first roster on.
  Result<ChannelInfo> create(const std::string& name, bool strict, bool free_voice,
                             const std::vector<std::string>& peers = {});
  // One roster change adds every one of `peers`, or, if any is refused, none.
  Result<ChannelInfo> invite(const std::string& channel, const std::vector<std::string>& peers);
  Result<ChannelInfo> remove(const std::string& channel, const std::string& peer);
  Result<ChannelInfo> leave(const std::string& channel);
  Result<ChannelInfo> accept(const std::string& channel);
  Result<ChannelInfo> decline(const std::string& channel);

  // --- inside the receive transaction ---
  Status apply_update(const std::string& from, const wire::ChannelUpdate& update, Effects& effects);
  Status apply_leave(const std::string& from, const wire::ChannelLeave& leave, Effects& effects);
  // Before we encrypt under our sender key: a new one after kRotateAfterMessages uses.
  Status rotate_if_worn(storage::ChannelRecord& channel, Effects& effects);
  // Audit trail: a system row in the channel's history, and an event.
  Status record_event(const storage::ChannelRecord& channel, const std::string& actor,
                      ChannelChange change, const std::string& subject, const std::string& text,
                      Effects& effects, int64_t at_ms = 0);

 private:
  // Checks that we administer `channel` (and are still in it) before a membership change.
  Status check_admin(const storage::ChannelRecord& channel);
  Status check_invitee(const storage::ChannelRecord& channel,
                       const storage::ContactRecord& contact);
  // The contacts `peers` name as newcomers to `channel`, which has `member_count` members: every
  // one passes check_invitee, none is named twice or is us, and the roster has room for all.
  // The first refused is named in the error.
  Result<std::vector<storage::ContactRecord>> invitees(const storage::ChannelRecord& channel,
                                                       size_t member_count,
                                                       const std::vector<std::string>& peers);
  // `peer` is our own name or a prefix of our fingerprint.
  bool names_me(const std::string& peer) const;
  Result<ChannelMember> member_view(const storage::ChannelRecord& channel,
                                    const storage::ChannelMemberRecord& m, bool admin_verified,
                                    const std::string& admin_name);
  // Admin: signs the next epoch's roster, stores it, sends it to `recipients` (1:1).
  Status issue_roster(storage::ChannelRecord& channel,
                      const std::vector<storage::ChannelMemberRecord>& members,
                      const RosterChange& change, const std::vector<std::string>& recipients,
                      Effects& effects);
  // Member side of issue_roster: stores a checked roster; starts a new own sender key when
  // someone left or we just joined, else offers the newcomers our current one. With
  // `invitation`, a roster that lists us leaves the channel invited, not joined.
  Status apply_roster(const wire::Roster& roster, ByteView update_blob, bool invitation,
                      Effects& effects);
  // The roster's audit line: who changed what, and the code everyone should now read aloud.
  Status record_roster(const storage::ChannelRecord& channel, bool existed,
                       const wire::Roster& roster,
                       const std::vector<storage::ChannelMemberRecord>& members,
                       const std::vector<storage::ChannelMemberRecord>& before, Effects& effects);
  // Whether a checked roster from `from` is applied as an invitation; nullopt when it is refused
  // (not from the admin, an old epoch, a channel we are not in, too many from one admin).
  Result<std::optional<bool>> invitation_of(const std::string& from, const wire::Roster& roster);
  // The members of `members` not in `before`, us excepted.
  std::vector<std::string> newcomers(const std::vector<storage::ChannelMemberRecord>& members,
                                     const std::vector<storage::ChannelMemberRecord>& before) const;
  // A member's name as the audit trail shows it: ours, our contact's, or the admin's for it.
  std::string known_name(const storage::ChannelMemberRecord& member);
  // Members not in `before` may now learn our name.
  void introduce_new_members(const std::vector<storage::ChannelMemberRecord>& members,
                             const std::vector<storage::ChannelMemberRecord>& before);
  // We verified `fingerprint` with this very key (or it is us).
  Result<bool> verified(const std::string& fingerprint, const Bytes& identity_key);
  // A ChannelLeave to the admin; the channel is left here at once.
  Status send_leave(storage::ChannelRecord& channel, Effects& effects);
  // Leaves the channel we were only a member of, or declines its invitation.
  Result<ChannelInfo> quit(storage::ChannelRecord& channel, ChannelChange change,
                           const std::string& text);

  Account& account_;
  const Clock& clock_;
  const MessengerHooks& hooks_;
  ContactBook& contacts_;
  MessageLedger& ledger_;
  SenderKeys& keys_;
};

}  // namespace sotto::core
