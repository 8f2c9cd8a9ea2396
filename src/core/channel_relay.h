// ChannelRelay: members hand channel messages to each other (doc/guide.md, Shift change;
// doc/protocol.md, Relay), so nothing waits for its author and its reader to be online together.
//
//   numbering   each author numbers its channel texts 1, 2, ... per channel; the number travels
//               inside the signed ciphertext and beside it, and every member keeps the author's
//               ciphertext as it came (storage::ChannelCopyRepo) with its mark: how far it holds
//               each author's messages without a gap.
//   meeting     co-members exchange their marks (a ChannelSync) when one comes online: marks,
//               not lists, so the exchange costs one entry per author whatever was missed.
//   relaying    each side hands the other, in the author's order, the copies it lacks — a
//               window at a time, the next after the receiver's next marks — and only to a
//               member on its roster now. The receiver takes a relayed copy only from a member,
//               only by an author on the roster, only as the next one it lacks, and opens it
//               under the author's sender key exactly as a direct one (its signature is the
//               author's), so a relay can withhold but not alter or forge.
//   receipts    an author reads its own row in a member's marks as a receipt for each of its
//               messages up to it; while it waits for a returning member's marks, its outbox
//               holds that member's frames (at most kSyncWaitMs), so nothing goes twice.
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/events.h"
#include "sotto/storage/channel_copy_repo.h"
#include "src/core/commit_effects.h"

namespace sotto::core {

struct MessengerHooks;
class MessageLedger;

// The envelope a relay sends for `copy`: the author's ciphertext as it came, under the author's
// number, with `sealed_clip` (ChannelRelay::sealed_clip) when the copy is a clip heard live.
// The relay attack tests build their frames with it too, so what they forge is exactly what a
// relay would send.
wire::Envelope relayed_group(const storage::ChannelCopy& copy, ByteView sealed_clip = {});

class ChannelRelay {
 public:
  // Copies handed over per author before the receiver's next marks ask for more.
  static constexpr int64_t kWindow = 512;
  // Copies kept per author and channel for co-members who were away (the archive keeps all).
  static constexpr int64_t kKeepCopies = 20'000;
  // How long an author's outbox holds a returning member's frames for its marks.
  static constexpr int64_t kSyncWaitMs = 1500;
  // Copies read to hand over in one round of the loop, whatever the requests: 4 windows, so a
  // round with hundreds of co-members' marks does not hold up everything else the loop does;
  // what is left is served in the next rounds (pending()).
  static constexpr int64_t kCopiesPerRound = 4 * kWindow;
  // Marks in one ChannelSync: an author per entry, so a frame stays far below the frame limit.
  // A ChannelSync with more is dropped whole (relay_sync_dropped).
  static constexpr int kMaxMarks = 1024;

  using Release = std::function<void(const std::string& fingerprint, bool reconnected)>;

  ChannelRelay(Account& account, const Clock& clock, const MessengerHooks& hooks,
               MessageLedger& ledger, Release release_outbox);

  // --- inside transactions ---
  // The number of our next text in the channel.
  Result<int64_t> number_own(ByteView channel_id);
  // A numbered message archived (ours or received): its copy is kept and the mark moves.
  Status keep(const storage::ChannelCopy& copy);
  // Whether a relayed copy of `author`'s `seq` is the next one we lack: kOk to open it; else
  // the reason it is refused (a duplicate is not an error: `duplicate` is set).
  Status check_relayed(ByteView channel_id, const std::string& author, uint64_t seq,
                       bool& duplicate);
  // A member's key arrived, starting at `seq` of its numbering.
  Status on_sender_key(ByteView channel_id, const std::string& author, uint64_t seq, bool joined);
  // Marks from `from`: our own row acknowledges our messages, the rest says what to hand over.
  Status on_sync(const std::string& from, const wire::ChannelSync& sync, Effects& effects);

  // --- on the loop ---
  // A co-member came online: marks to it when there is something to settle. True when its
  // outbox frames wait for its marks (release_outbox runs once they came, or kSyncWaitMs).
  bool on_peer_online(const std::string& fingerprint, bool reconnected, bool outbox_waiting);
  // After a receive batch committed: the copies it decided to hand over (at most
  // kCopiesPerRound read), and fresh marks to each relay we took copies from (it sends the next
  // window). Also after a round with no batch while pending().
  void after_commit();
  // True while requests wait for copies beyond the last round's kCopiesPerRound: the loop must
  // come back without sleeping.
  bool pending() const { return !requests_.empty(); }
  // Relayed copies were archived from `relay` in this batch.
  void note_relayed_from(const std::string& relay) { relayed_from_.insert(relay); }
  // A relayed copy of `author`'s could not be taken: out of order (our marks go back to `relay`
  // once what it has on the way is stale, so it starts again from the gap), or for want of the
  // author's key (the marks go back when a key arrives; meanwhile the roster says so).
  void note_refused(const std::string& relay, ByteView channel_id, const std::string& author,
                    bool no_key);
  // Marks the members whose key we wait for.
  void describe(ChannelInfo& info) const;
  // On the timer: outboxes that waited long enough for marks.
  void on_timer();

 private:
  struct Offered {
    int64_t through = 0;
    int64_t at_ms = 0;
  };
  struct Waiting {
    bool reconnected = true;
    int64_t until_ms = 0;
  };
  struct Request {
    std::string to;
    Bytes channel_id;
    std::string author;
    int64_t held = 0;
  };
  // Our marks for every channel we share with `fingerprint`; empty when there are none.
  Result<std::optional<wire::ChannelSync>> marks_for(const std::string& fingerprint);
  // `even_empty`: sent with no marks too (an ask, or the answer to one).
  void send_marks(const std::string& fingerprint, bool want_reply, bool even_empty = false);
  // After the commit: copies of the request's author after `held`, up to held + kWindow, that
  // are not on their way already; at most `budget` of them read, taken off it. False when the
  // budget ran out first: the rest of the window is served from the same request next round.
  bool offer(const Request& request, int64_t& budget);
  // A clip we heard live, sealed for the GroupMessage that relays its VoiceEnd.
  Result<Bytes> sealed_clip(const storage::ChannelCopy& copy);
  // Before the first copy of each of the author's keys: the key itself, signed by the author,
  // when we hold it and the receiver was on the roster when it began. False when sending failed.
  bool offer_key(const Request& request, int64_t generation);
  Status acknowledge_own(const std::string& from, ByteView channel_id, int64_t held,
                         Effects& effects);

  Account& account_;
  const Clock& clock_;
  const MessengerHooks& hooks_;
  MessageLedger& ledger_;
  Release release_outbox_;
  std::map<std::pair<std::string, std::string>, Offered> offered_;  // (peer, channel|author)
  std::vector<Request> requests_;           // marks that asked for copies, served after the commit
  std::map<std::string, Waiting> waiting_;  // outboxes held for the peer's marks
  std::set<std::string> released_;          // marks came in this batch
  std::set<std::string> reply_to_;          // hold more than we do: our marks go back
  std::set<std::string> asked_by_;          // asked for our marks in this batch
  std::set<std::string> relayed_from_;      // copies came from them in this batch
  std::map<std::string, int64_t> replied_at_ms_;             // unasked replies, at most one a while
  std::map<std::string, int64_t> greeted_at_ms_;             // marks sent on coming online
  std::map<Bytes, std::vector<int64_t>> greets_by_channel_;  // when, per channel
  std::map<std::string, int64_t> resync_at_ms_;  // relays to send our marks again, and when
  std::set<std::string> recent_relays_;          // who relayed to us (asked again on a key)
  std::map<std::string, std::set<std::string>> missing_keys_;  // channel (hex) -> authors
};

}  // namespace sotto::core
