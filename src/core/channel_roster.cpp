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

void append_u64(Bytes& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
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
  if (static_cast<size_t>(roster.members_size()) > kMaxChannelMembers) {
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

}  // namespace sotto::core
