// The signed roster of a channel (doc/guide.md, Channels): what the admin signs, how a member
// checks it, and the security code people read aloud to prove they all see the same members.
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "sotto/storage/channel_repo.h"

namespace sotto::core {

// A roster lists at most this many members: what one admin can make every member hold. One
// invite (or create) may name as many as there is room for, in one roster change.
constexpr size_t kMaxChannelMembers = 500;
constexpr size_t kChannelNonceSize = 16;

// The id of the channel `admin_key` makes with `nonce`: the first 16 bytes of
// SHA-256("sotto channel id v1" | admin key | nonce).
Bytes channel_id_for(ByteView admin_key, ByteView nonce);

// What a roster says beyond its members, all of it in the security code.
struct ChannelFlags {
  bool locked = true;
  bool strict = true;
  bool free_voice = false;
};

// "ddddd ddddd ddddd ddddd ddddd ddddd": SHA-256 over the channel id, the admin's key, the flags,
// the epoch and the sorted member identity keys, so any difference in who is listed, who
// administers it or how it admits and carries voice changes it.
std::string channel_security_code(ByteView channel_id, ByteView admin_key, ChannelFlags flags,
                                  uint64_t epoch, std::vector<Bytes> identity_keys);

// The bytes the admin signs for `roster_bytes` (a serialized wire::Roster).
Bytes roster_signing_input(ByteView roster_bytes);

// Parses and checks a ChannelUpdate: well-formed roster (a 16-byte id that channel_id_for gives
// for the admin key and the roster's nonce, UTF-8 names of at most 64 bytes, 33-byte identity
// keys, no duplicates, at most kMaxChannelMembers, the admin listed unless dissolved) signed by
// roster.admin_key. Corruption with a reason otherwise.
Result<wire::Roster> open_channel_update(const wire::ChannelUpdate& update);

// What a new roster changes, as its admin states it (the audit trail's words).
struct RosterChange {
  ChannelChange change = ChannelChange::kChanged;  // created, invited, removed, left, dissolved
  std::vector<Bytes> subject_keys;  // whom it concerns: the members invited, removed or gone
  bool dissolved = false;
};

// Whom a checked roster says its change concerns: subject_keys, or the one subject_key.
std::vector<Bytes> roster_subject_keys(const wire::Roster& roster);

// The next epoch's roster of `channel` listing `members`, issued now by `admin_key` (unsigned).
wire::Roster next_roster(const storage::ChannelRecord& channel,
                         const std::vector<storage::ChannelMemberRecord>& members,
                         const RosterChange& change, ByteView admin_key, int64_t issued_at_ms);

// A roster's members as we store them (each fingerprint from its key).
std::vector<storage::ChannelMemberRecord> roster_members(const wire::Roster& roster);

// channel_security_code for `channel` (its id, admin and flags) with `members` at `epoch`.
std::string roster_security_code(const storage::ChannelRecord& channel, uint64_t epoch,
                                 const std::vector<storage::ChannelMemberRecord>& members);

// The audit line of a roster change, before its security code. `subject_names` are the members
// it concerns (several for an invite or a create naming several; none for a plain create).
std::string roster_change_text(ChannelChange change, const std::string& admin_name,
                               const std::vector<std::string>& subject_names,
                               const std::string& channel_name);

}  // namespace sotto::core
