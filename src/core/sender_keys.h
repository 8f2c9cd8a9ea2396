// SenderKeys: our sender key in each channel and the members' keys (doc/guide.md, Channels).
//
//   each member hands its key to every other member over the 1:1 session, through the outbox
//   like text; with a member it has no session with yet, the one with the lower fingerprint
//   fetches the other's bundle (so the two never start sessions at each other at once). A
//   removal starts a new key of our own, and so do kRotateAfterMessages uses. A join does not:
//   the newcomer gets our key as it stands at the join (offer_to_newcomers), and since the chain
//   only ratchets forward it cannot open what we sent before (doc/security.md, Channels).
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/storage/channel_repo.h"
#include "src/core/commit_effects.h"

namespace sotto::core {

struct MessengerHooks;
class ContactBook;
class MessageLedger;

// Sender keys have no post-compromise security within one key: a new one now and then.
constexpr int64_t kRotateAfterMessages = 1000;

class SenderKeys {
 public:
  SenderKeys(Account& account, const MessengerHooks& hooks, ContactBook& contacts,
             MessageLedger& ledger);

  // Starts a new key of our own for `channel` and saves the channel with it; every member is
  // then given it from its first iteration.
  Status rotate_own(storage::ChannelRecord& channel);
  // Inside the transaction that applies a roster: each of `newcomers` is to get our current key
  // from its chain state now, not from iteration 0 (it is queued by share_own, maybe later).
  Status offer_to_newcomers(const storage::ChannelRecord& channel,
                            const std::vector<std::string>& newcomers);
  // Inside a transaction: queues our current key to every member with a session who lacks it.
  Status share_own(const storage::ChannelRecord& channel, Effects& effects);
  // Inside the receive transaction: a member's key (Unavailable while its roster is on the way).
  Status apply(const std::string& from, const wire::SenderKey& key);
  // A Content encrypted under our current sender key for `channel`, as a GroupMessage frame.
  Result<Bytes> group_frame(const storage::ChannelRecord& channel, ByteView message_id,
                            wire::Content content);

  // On the timer, every kUpkeepIntervalMs or sooner after share_soon(): hands out our keys,
  // starts sessions with fellow members.
  void upkeep_if_due(int64_t now_ms);
  // A roster may have changed: the next upkeep_if_due runs at once.
  void share_soon() { upkeep_at_ms_ = 0; }

 private:
  // For each member still lacking our key: true when a session exists (its key can be shared).
  bool needs_key(const storage::ChannelRecord& channel);
  // The lower fingerprint of the two asks for the member's bundle.
  void start_session(const storage::ChannelMemberRecord& member);

  Account& account_;
  const MessengerHooks& hooks_;
  ContactBook& contacts_;
  MessageLedger& ledger_;
  std::set<std::string> member_sessions_pending_;  // bundle requests made for channel members
  int64_t upkeep_at_ms_ = 0;
};

}  // namespace sotto::core
