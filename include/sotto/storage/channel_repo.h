// ChannelRepo: channels this profile belongs to (or belonged to), their members at the current
// epoch, and how far our own sender key has been handed out.
// Thread-safety: as the Database it uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

// kInvited: a roster from an admin we have not verified; the user accepts or declines it.
enum class ChannelState : int64_t {
  kMember = 0,
  kRemoved = 1,
  kLeft = 2,
  kDissolved = 3,
  kInvited = 4
};

struct ChannelRecord {
  Bytes id;
  std::string name;
  std::string admin;
  Bytes admin_key;
  int64_t epoch = 0;
  bool locked = true;
  bool strict = true;
  ChannelState state = ChannelState::kMember;
  Bytes update_blob;
  int64_t key_generation = 0;
  int64_t key_uses = 0;
  Bytes own_key;
  int64_t created_at = 0;
  bool free_voice = false;  // voice: talkers mixed, not one at a time
  Bytes id_nonce;           // id = H(admin key | id_nonce): the id is the admin's (schema 10)
};

struct ChannelMemberRecord {
  std::string fingerprint;
  std::string name;
  Bytes identity_key;
  int64_t key_shared = 0;
  // Our sender key's distribution as it stood when this member joined (empty: own_key, from
  // iteration 0). Cleared once queued, and when our key rotates (schema 11).
  Bytes key_offer;
  int64_t since_epoch = 0;  // on the roster without a break since this epoch (schema 12)
};

class ChannelRepo {
 public:
  explicit ChannelRepo(Database& db) : db_(db) {}

  // Inserts the channel, or replaces every field of the one with the same id.
  Status save(const ChannelRecord& channel);
  Result<std::optional<ChannelRecord>> find(ByteView id);
  Result<std::optional<ChannelRecord>> find_by_name(const std::string& name);
  Result<std::vector<ChannelRecord>> list();
  Result<std::vector<ChannelMemberRecord>> members(ByteView channel_id);
  // The roster of `epoch` becomes `members`; members who stay keep their key_shared and
  // since_epoch, newcomers are members since `epoch`.
  Status set_members(ByteView channel_id, const std::vector<ChannelMemberRecord>& members,
                     int64_t epoch);
  // Also drops the member's key_offer: it has been queued.
  Status set_key_shared(ByteView channel_id, const std::string& fingerprint, int64_t generation);
  Status set_key_offer(ByteView channel_id, const std::string& fingerprint, ByteView offer);
  // Our key rotated: every member gets the new one from its first iteration.
  Status clear_key_offers(ByteView channel_id);
  Status add_key_use(ByteView channel_id);
  Result<bool> is_member(ByteView channel_id, const std::string& fingerprint);
  // True when `fingerprint` is on the roster of a channel we are a member of.
  Result<bool> shares_channel(const std::string& fingerprint);
  // The ids of those channels.
  Result<std::vector<Bytes>> shared_with(const std::string& fingerprint);
  // Channels (and invitations) administered by `admin` that we hold, left ones excepted.
  Result<int64_t> count_by_admin(const std::string& admin);

 private:
  Database& db_;
};

}  // namespace sotto::storage
