#include "src/core/channel_roster.h"

#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <set>

#include "sotto/core/account.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "src/net/content.h"

namespace sotto::core {
namespace {

constexpr std::string_view kRosterContext = "sotto channel roster v1";
constexpr std::string_view kCodeContext = "sotto channel code v2";
constexpr std::string_view kIdContext = "sotto channel id v1";
constexpr size_t kIdentityKeySize = 33;  // type byte + Curve25519 point
constexpr int kCodeGroups = 6;
constexpr int kBytesPerGroup = 5;
// An audit line names this many members of a change, then counts the rest: a channel built in
// one invite of 250 would otherwise leave a line of a few kilobytes on every screen.
constexpr size_t kNamesInAuditLine = 8;

void append_u64(Bytes& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

// "bob", "bob and carol", "bob, carol and dave", "bob, ... and 12 others".
std::string listed(const std::vector<std::string>& names) {
  const size_t shown = std::min(names.size(), kNamesInAuditLine);
  std::string text;
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) text += i + 1 == names.size() ? " and " : ", ";
    text += names[i];
  }
  if (shown < names.size()) text += " and " + std::to_string(names.size() - shown) + " others";
  return text;
}

}  // namespace

Bytes channel_id_for(ByteView admin_key, ByteView nonce) {
  Bytes input(kIdContext.begin(), kIdContext.end());
  input.insert(input.end(), admin_key.begin(), admin_key.end());
  input.insert(input.end(), nonce.begin(), nonce.end());
  Bytes id = crypto::sha256(input);
  id.resize(net::kChannelIdSize);
  return id;
}

std::string channel_security_code(ByteView channel_id, ByteView admin_key, ChannelFlags flags,
                                  uint64_t epoch, std::vector<Bytes> identity_keys) {
  std::sort(identity_keys.begin(), identity_keys.end());
  Bytes input(kCodeContext.begin(), kCodeContext.end());
  input.insert(input.end(), channel_id.begin(), channel_id.end());
  append_u64(input, admin_key.size());
  input.insert(input.end(), admin_key.begin(), admin_key.end());
  input.push_back(static_cast<uint8_t>((flags.locked ? 1 : 0) | (flags.strict ? 2 : 0) |
                                       (flags.free_voice ? 4 : 0)));
  append_u64(input, epoch);
  for (const Bytes& key : identity_keys) {
    append_u64(input, key.size());
    input.insert(input.end(), key.begin(), key.end());
  }
  const Bytes digest = crypto::sha256(input);
  std::string code;
  for (int group = 0; group < kCodeGroups; ++group) {
    // As Signal's safety numbers: 5 bytes, big-endian, reduced mod 100000.
    uint64_t chunk = 0;
    for (int i = 0; i < kBytesPerGroup; ++i)
      chunk = (chunk << 8) | digest[group * kBytesPerGroup + i];
    std::string digits = std::to_string(chunk % 100000);
    if (!code.empty()) code += ' ';
    code += std::string(5 - digits.size(), '0') + digits;
  }
  return code;
}

Bytes roster_signing_input(ByteView roster_bytes) {
  Bytes input(kRosterContext.begin(), kRosterContext.end());
  input.insert(input.end(), roster_bytes.begin(), roster_bytes.end());
  return input;
}

Result<wire::Roster> open_channel_update(const wire::ChannelUpdate& update) {
  wire::Roster roster;
  bool parsed = false;
  {
    google::protobuf::LogSilencer quiet;  // a peer's bad UTF-8 must not write to our terminal
    parsed = roster.ParseFromString(update.roster());
  }
  if (!parsed) return Status::corruption("roster does not parse");
  if (roster.channel_id().size() != net::kChannelIdSize) {
    return Status::corruption("roster channel id is not 16 bytes");
  }
  if (roster.name().empty() || roster.name().size() > Account::kMaxNameBytes ||
      !net::is_valid_utf8(roster.name())) {
    return Status::corruption("bad channel name in roster");
  }
  if (roster.admin_key().size() != kIdentityKeySize) {
    return Status::corruption("roster admin key is not an identity key");
  }
  if (roster.id_nonce().size() != kChannelNonceSize ||
      channel_id_for(as_bytes(roster.admin_key()), as_bytes(roster.id_nonce())) !=
          Bytes(roster.channel_id().begin(), roster.channel_id().end())) {
    return Status::corruption("the roster's channel id is not its admin's");
  }
  if (static_cast<size_t>(roster.members_size()) > kMaxChannelMembers ||
      static_cast<size_t>(roster.subject_keys_size()) > kMaxChannelMembers) {
    return Status::corruption("roster lists more members than a channel may have");
  }
  std::set<std::string> seen;
  bool admin_listed = false;
  for (const auto& member : roster.members()) {
    if (member.identity_key().size() != kIdentityKeySize) {
      return Status::corruption("roster member key is not an identity key");
    }
    if (member.name().size() > Account::kMaxNameBytes || !net::is_valid_utf8(member.name())) {
      return Status::corruption("bad member name in roster");
    }
    if (!seen.insert(member.identity_key()).second)
      return Status::corruption("member listed twice");
    admin_listed = admin_listed || member.identity_key() == roster.admin_key();
  }
  if (!admin_listed && !roster.dissolved()) return Status::corruption("roster without its admin");
  const Bytes admin_key(roster.admin_key().begin(), roster.admin_key().end());
  const Bytes signed_bytes = roster_signing_input(as_bytes(update.roster()));
  const Bytes signature(update.signature().begin(), update.signature().end());
  if (!crypto::SignalEngine::verify(admin_key, signed_bytes, signature)) {
    return Status::corruption("roster signature does not verify with the admin's key");
  }
  return roster;
}

wire::Roster next_roster(const storage::ChannelRecord& channel,
                         const std::vector<storage::ChannelMemberRecord>& members,
                         const RosterChange& change, ByteView admin_key, int64_t issued_at_ms) {
  wire::Roster roster;
  roster.set_channel_id(as_chars(channel.id).data(), channel.id.size());
  roster.set_name(channel.name);
  roster.set_epoch(static_cast<uint64_t>(channel.epoch + 1));
  roster.set_admin_key(as_chars(admin_key).data(), admin_key.size());
  roster.set_locked(channel.locked);
  roster.set_strict(channel.strict);
  roster.set_free_voice(channel.free_voice);
  roster.set_id_nonce(as_chars(channel.id_nonce).data(), channel.id_nonce.size());
  for (const auto& m : members) {
    auto* member = roster.add_members();
    member->set_identity_key(as_chars(m.identity_key).data(), m.identity_key.size());
    member->set_name(m.name);
  }
  roster.set_change(std::string(to_string(change.change)));
  if (!change.subject_keys.empty()) {
    const Bytes& first = change.subject_keys.front();
    roster.set_subject_key(as_chars(first).data(), first.size());
  }
  if (change.subject_keys.size() > 1) {
    for (const Bytes& key : change.subject_keys)
      roster.add_subject_keys(as_chars(key).data(), key.size());
  }
  roster.set_dissolved(change.dissolved);
  roster.set_issued_at(static_cast<uint64_t>(issued_at_ms));
  roster.set_created_at(static_cast<uint64_t>(channel.created_at));
  return roster;
}

std::vector<Bytes> roster_subject_keys(const wire::Roster& roster) {
  std::vector<Bytes> keys;
  for (const auto& key : roster.subject_keys()) keys.emplace_back(key.begin(), key.end());
  if (keys.empty() && !roster.subject_key().empty()) {
    keys.emplace_back(roster.subject_key().begin(), roster.subject_key().end());
  }
  return keys;
}

std::vector<storage::ChannelMemberRecord> roster_members(const wire::Roster& roster) {
  std::vector<storage::ChannelMemberRecord> members;
  for (const auto& m : roster.members()) {
    const Bytes key(m.identity_key().begin(), m.identity_key().end());
    members.push_back({crypto::fingerprint_of(key), m.name(), key, 0, {}});
  }
  return members;
}

std::string roster_security_code(const storage::ChannelRecord& channel, uint64_t epoch,
                                 const std::vector<storage::ChannelMemberRecord>& members) {
  std::vector<Bytes> keys;
  for (const auto& m : members) keys.push_back(m.identity_key);
  return channel_security_code(channel.id, channel.admin_key,
                               ChannelFlags{channel.locked, channel.strict, channel.free_voice},
                               epoch, std::move(keys));
}

std::string roster_change_text(ChannelChange change, const std::string& admin_name,
                               const std::vector<std::string>& subject_names,
                               const std::string& channel_name) {
  const std::string subject_name = listed(subject_names);
  switch (change) {
    case ChannelChange::kCreated:
      return admin_name + " created #" + channel_name +
             (subject_names.empty() ? "" : " with " + subject_name);
    case ChannelChange::kInvited:
      return admin_name + " invited " + subject_name;
    case ChannelChange::kRemoved:
      return admin_name + " removed " + subject_name + "; every member's sender key rotates";
    case ChannelChange::kLeft:
      return subject_name + " left; every member's sender key rotates";
    case ChannelChange::kDissolved:
      return admin_name + " closed #" + channel_name;
    default:
      return admin_name + " changed the members of #" + channel_name;
  }
}

}  // namespace sotto::core
