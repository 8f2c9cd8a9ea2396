// SenderKeys: our sender key in each channel and the members' keys (doc/guide.md, Channels).
//
//   each member hands its key to every other member over the 1:1 session, through the outbox
//   like text, once it uses the key: its first message or transmission in the channel (and, from
//   then on, to each newcomer). A member who only listens hands out nothing, so a channel of N
//   costs sessions and keys for its speakers, not N(N-1) of each at the build. The key goes into
//   the outbox ahead of the first message to every member with a session; with the others the
//   speaker starts one (fetching the member's bundle) and the message waits at the member for
//   the key (KeyWaits). A removal starts a new key of our own (handed out on its first use), and
//   so do kRotateAfterMessages uses. A join does not: the newcomer gets our key as it stands at
//   the join (offer_to_newcomers), and since the chain only ratchets forward it cannot open what
//   we sent before (doc/security.md, Channels).
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
#include "sotto/storage/channel_copy_repo.h"
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
  // Inside a transaction, once our key is in use: queues it to every member with a session who
  // lacks it.
  Status share_own(const storage::ChannelRecord& channel, Effects& effects);
  // Inside the receive transaction: a member's key (Unavailable while its roster is on the way);
  // `stored` when it was taken.
  Status apply(const std::string& from, const wire::SenderKey& key, bool& stored);
  // A new key of `from`'s with a valid signature is kept for co-members who miss it
  // (ChannelRelay hands it on).
  Status keep_for_relay(const Bytes& channel_id, const std::string& from,
                        const wire::SenderKey& key);
  // Inside a transaction: a Content encrypted under our current sender key for `channel`, as a
  // GroupMessage frame. The key's first use queues it to the members first (`effects`), so the
  // caller's frame follows it on every link; `channel` counts the use. A numbered message
  // (`copy` given, its seq set) carries the number, and `copy` gets the ciphertext to keep.
  Result<Bytes> group_frame(storage::ChannelRecord& channel, ByteView message_id,
                            wire::Content content, Effects& effects,
                            storage::ChannelCopy* copy = nullptr);

  // On the timer, every kUpkeepIntervalMs (kOnAirUpkeepIntervalMs while a transmission is live)
  // or sooner after share_soon(): hands out our keys, starts sessions with fellow members.
  void upkeep_if_due(int64_t now_ms, bool on_air);
  // A roster may have changed, or a member come online: the next upkeep_if_due runs at once.
  void share_soon() { soon_ = true; }

 private:
  // Whether a member lacking our key (in use) has a session to get it over; a session is started
  // with those who have none.
  bool needs_key(const storage::ChannelRecord& channel);
  // Fetches the member's bundle; both ends may do so at once, and libsignal then keeps both
  // sessions and settles on the one last used.
  void start_session(const storage::ChannelMemberRecord& member);

  Account& account_;
  const MessengerHooks& hooks_;
  ContactBook& contacts_;
  MessageLedger& ledger_;
  std::set<std::string> member_sessions_pending_;  // bundle requests made for channel members
  bool soon_ = true;
  int64_t last_upkeep_ms_ = 0;
};

}  // namespace sotto::core
