// Messenger: 1:1 text and channels on top of the node's links (doc/guide.md, Text, doc/guide.md,
// Channels). A facade that wires the owners together and keeps the signatures the node calls:
//
//   ContactBook     contacts, bundles (X3DH), resolve, verify and replace
//   MessageLedger   the exactly-once path: archive + ciphertext + outbox in one commit, then
//                   receipts and frames (its header explains the transaction ordering)
//   Outbox          committed frames on their way, one OutboxFlow (retry window, adaptive
//                   interval, recovery) per recipient
//   ChannelService  rosters, invitations, joining and leaving, the audit trail
//   SenderKeys      our sender key per channel and the members' keys
//   ExpiryService   disappearing messages: the setting, and deleting what expired
//   VoiceClips      voice transmissions' keys, archive and outbox (the voice side's messaging)
//
// Frames are queued by on_envelope and handled together in after_poll; texts are queued by
// send_text and committed together in flush_sends.
// Thread-safety: the node's loop thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "sotto/crypto/verify_ahead.h"
#include "sotto/storage/channel_repo.h"
#include "sotto/storage/contact_repo.h"
#include "sotto/storage/message_repo.h"
#include "src/core/account_internals.h"
#include "src/core/channel_relay.h"
#include "src/core/channel_service.h"
#include "src/core/commit_effects.h"
#include "src/core/contact_book.h"
#include "src/core/counters.h"
#include "src/core/expiry_service.h"
#include "src/core/key_waits.h"
#include "src/core/mailbox_client.h"
#include "src/core/mailbox_drop.h"
#include "src/core/message_ledger.h"
#include "src/core/message_view.h"
#include "src/core/outbox.h"
#include "src/core/sender_keys.h"
#include "src/core/voice_clips.h"
#include "src/core/voice_messaging.h"
#include "src/core/voice_types.h"

namespace sotto::core {

struct MessengerOptions {
  bool accept_unknown = true;       // a first message from an unknown identity makes a contact
  int64_t retry_initial_ms = 2000;  // no receipt for this long: resend the unacknowledged
  int64_t retry_max_ms = 60000;
  // A retry resends at most this many of the oldest unacknowledged frames, and the next ones only
  // as receipts come back: a receiver that is merely slow must not be buried in duplicates.
  int64_t retry_window = 256;
  int64_t bundle_timeout_ms = 5000;
  // How long an add by name waits for the strangers it greeted to answer (ContactBook): a LAN
  // answers a Hello in milliseconds; this leaves room for a few relinks (50, 100, 200 ms...) to
  // a peer that refused our first handshake because our beacon had not reached it yet.
  int64_t name_lookup_ms = 3000;
  int64_t bundle_request_interval_ms = 1000;  // per requesting peer: each costs a pre-key
  // Serving as a mailbox for others (`sotto daemon --mailbox`; MailboxDrop), within these.
  bool serve_mailbox = false;
  MailboxLimits mailbox_limits;
};

// What the messenger needs from the node around it.
struct MessengerHooks {
  std::function<bool(const std::string& fingerprint, ByteView frame)> send_frame;
  // A live voice frame, which may go another way than the link (a datagram); unset: send_frame.
  std::function<bool(const std::string& fingerprint, ByteView frame)> send_live;
  std::function<std::optional<PeerInfo>(const std::string& fingerprint)> peer;
  std::function<std::vector<PeerInfo>()> peers;
  std::function<void(Event)> publish;
  std::function<void(Counter counter, uint64_t n)> count;
  // `fingerprint` became a contact or co-member: it may now learn our name (a new Hello).
  std::function<void(const std::string& fingerprint)> introduce;
  // Sends `fingerprint` our Hello (a name digest, as to any stranger) over a link opened on
  // demand, so that it answers with its own; false when no link could be opened. Optional.
  std::function<bool(const std::string& fingerprint)> greet;
  // Voice content decrypted for a channel (VoiceClips): a member's VoiceStart or
  // VoiceEnd, or a clip archived from the outbox. Emitted inside the receive transaction, for
  // the node to route; the receiver must not call back into the Messenger. Optional.
  std::function<void(VoiceSignal signal)> voice_signal;
  // Adds what lives outside the archive (who is on air now) to a channel's description.
  std::function<void(ChannelInfo& info)> describe_channel;
  // A roster was applied (here or from the admin): `members` is the channel's roster now, and
  // `still_member` whether we are on it. Runs inside the transaction that applies it, so it
  // must not call back into the Messenger. Optional.
  std::function<void(const Bytes& channel_id, const std::vector<std::string>& members,
                     bool still_member)>
      roster_changed;
  // Probe this endpoint for a node with this transport key from now on, as a --peer one: a
  // mailbox named in a signed record, which broadcast discovery may not reach. Optional.
  std::function<void(const std::string& endpoint, const Bytes& transport_key)> reach;
};

class Messenger : public VoiceMessaging {
 public:
  using AddDone = std::function<void(Result<ContactInfo>)>;
  using SendDone = std::function<void(Result<MessageInfo>)>;

  Messenger(Account& account, const Clock& clock, MessengerOptions options, MessengerHooks hooks);
  // The owners hold references into this object: it never moves.
  Messenger(const Messenger&) = delete;
  Messenger& operator=(const Messenger&) = delete;
  Status start();
  const Clock& clock() const { return clock_; }

  // --- front ends ---
  // Checks the request now and queues it; flush_sends() commits every queued message in one
  // transaction (one fsync for all of them), transmits, then calls each `done`.
  void send_text(const std::string& to, const std::string& text, SendDone done);
  void flush_sends();
  // Asks the peer for its bundle, builds the session, makes it a contact; `done` runs later. A
  // name no peer has shown us is first looked for (ContactBook::look_up_and_add).
  void add_contact(const std::string& peer_query, const std::string& name, AddDone done);
  // The safety number with a contact.
  Result<std::string> safety_number(const std::string& to);
  void confirm_contact(const std::string& to, AddDone done);
  // `new_contact` (verified) takes the name of `old_contact`, which becomes its namesake: how a
  // contact who reinstalled (a new identity key) is followed. Never implicit.
  Result<ContactInfo> replace_contact(const std::string& old_contact,
                                      const std::string& new_contact);
  Result<std::vector<ContactInfo>> contacts();
  Result<std::vector<MessageInfo>> history(const std::string& to, int64_t limit);
  // --- archive reads (search and export in src/core/archive.h) ---
  // The archive's conversation key for TO (contact name, fingerprint prefix or #channel).
  Result<std::string> conversation_key(const std::string& to);
  // Archive rows as history() shows them; `labels`, when given, gets each row's conversation
  // as people name it ("#channel", or the contact's name).
  Result<std::vector<MessageInfo>> describe(const std::vector<storage::MessageRecord>& rows,
                                            std::vector<std::string>* labels = nullptr);

  // --- channels (messenger_channels.cpp, doc/guide.md, Channels) ---
  // `members` join in the channel's first roster; each invite makes one roster change however
  // many it names (ChannelService).
  Result<ChannelInfo> create_channel(const std::string& name, bool strict, bool free_voice = false,
                                     const std::vector<std::string>& members = {});
  Result<ChannelInfo> invite_to_channel(const std::string& channel, const std::string& peer);
  Result<ChannelInfo> invite_to_channel(const std::string& channel,
                                        const std::vector<std::string>& peers);
  Result<ChannelInfo> remove_from_channel(const std::string& channel, const std::string& peer);
  Result<ChannelInfo> leave_channel(const std::string& channel);
  // An invitation (a roster from an admin we have not verified): join it, or tell the admin no.
  Result<ChannelInfo> accept_channel(const std::string& channel);
  Result<ChannelInfo> decline_channel(const std::string& channel);
  Result<std::vector<ChannelInfo>> channels();
  Result<ChannelInfo> channel(const std::string& channel);

  // --- voice (messenger_voice.cpp, doc/guide.md, Push-to-talk voice): what the voice side may ask
  // (voice_messaging.h), handed on to VoiceClips ---
  Result<TransmissionStart> open_transmission(const std::string& channel, uint32_t frame_ms,
                                              uint32_t bitrate, int64_t started_at_us) override;
  Result<MessageInfo> close_transmission(const TransmissionEnd& end) override;
  Result<std::optional<ArchivedClip>> archive_heard_clip(const std::string& from,
                                                         ByteView channel_id, const HeardClip& clip,
                                                         ByteView signature) override;
  bool send_live(const std::string& fingerprint, ByteView frame) override;
  Result<VoiceChannel> voice_channel(const std::string& channel) override;
  bool is_voice_member(ByteView channel_id, const std::string& fingerprint) override;
  std::string name_of(const std::string& fingerprint) override;
  // The archived clip whose message id starts with `id_prefix` (hex).
  Result<ArchivedClip> find_clip(const std::string& id_prefix);

  // --- disappearing messages (ExpiryService) ---
  // How long `to` (a contact or #channel) keeps messages: 0 = for ever. Tells the peer (or, as
  // the channel's admin, every member) and writes the change into the conversation's history.
  // InvalidArgument for an unknown conversation or a channel we do not administer.
  Result<MessageInfo> set_expiry(const std::string& to, int64_t expire_ms);

  // --- mailboxes (MailboxClient, MailboxDrop; doc/guide.md, Mailboxes) ---
  // `node` becomes our mailbox once it accepts us (empty: none); `done` then runs.
  void use_mailbox(const std::string& node, MailboxClient::UseDone done);
  // The `mailbox` setting: used once that node is online.
  void want_mailbox(const std::string& node) { mailboxes_.want(node); }
  // Our mailbox, and the users we serve as one.
  Result<MailboxInfo> mailbox();

  // --- network ---
  void on_envelope(const std::string& fingerprint, const wire::Envelope& envelope);
  // `reconnected`: over a new connection (resend everything unacknowledged); else the same one
  // after a quiet spell (carry on where the outbox was).
  void on_peer_online(const std::string& fingerprint, bool reconnected = true);
  // A peer's state, name or name digest changed.
  void on_peer_changed(const std::string& fingerprint);
  // A contact, a fellow channel member, our mailbox or a user of ours as one: someone our
  // display name may go to, whose frames get a contact's rate limit.
  bool knows(const std::string& fingerprint);
  // Someone the node keeps a link to: a contact, or with frames waiting for it in the outbox.
  bool has_business_with(const std::string& fingerprint);
  // After each poll: commits the batch of received messages and sends their receipts.
  void after_poll();
  // The loop's last act: sends queued in its final round are committed (they were accepted, and
  // the outbox delivers them later), adds still waiting fail, so no caller waits in vain.
  void on_stop();
  // `on_air`: a voice transmission is live, so nothing slow (a checkpoint) may run now.
  void on_timer(bool on_air = false);
  // Housekeeping that would otherwise land on some message's path (indexing new messages for
  // search, copying the write-ahead log into the database): once nothing was sent or received
  // for kQuietMs. A node never quiet still gets both, inside a commit, at their hard limits
  // (SearchRepo::kIndexBatch, Database's log limit).
  void tidy_when_quiet();
  // When tidy_when_quiet has something to do, if the node stays quiet.
  std::optional<int64_t> tidy_at_ms() const;
  // True while sends, received frames or relay requests (ChannelRelay::pending) wait for the
  // next round: the loop must not sleep.
  bool has_queued_work() const;
  // True while frames wait to go out (the loop should come back soon).
  bool busy() const;
  // Frames in the outbox, waiting for a receipt (0 when the count cannot be read).
  uint64_t outbox_waiting();

 private:
  // Inside the receive transaction: one message (see MessageLedger::ReceiveOne).
  Status receive_one(const Received& item, Effects& effects);
  Status receive_group(const Received& item, Effects& effects);
  // The sender-key signatures opening `batch` will check, for verify_ahead_.
  std::vector<crypto::SignatureCheck> signature_checks(const std::vector<Received>& batch);
  // A member's new sender key handed on by a co-member (ChannelRelay::offer_key).
  Status receive_relayed_key(const Received& item);
  // A frame our mailbox held for us: opened under its sender's session as if it came from it,
  // then the mailbox is told it may drop it.
  Status receive_forwarded(const Received& item, Effects& effects);
  // Who wrote a channel message, and who handed it on (empty: it came from its author).
  struct GroupOrigin {
    std::string author;
    std::string relay;
  };
  // A decrypted group message from a member of `channel`: text, or voice.
  Status archive_group(const Received& item, const GroupOrigin& origin,
                       const storage::ChannelRecord& channel, const wire::Content& content,
                       Effects& effects);
  // Its voice part: VoiceStart and VoiceEnd to the voice side, a clip (from the outbox, or
  // relayed) archived, and the copy of a numbered one kept.
  Status archive_voice(const Received& item, const GroupOrigin& origin,
                       const storage::ChannelRecord& channel, const wire::Content& content,
                       Effects& effects);
  // The copy of a numbered message we archived at `row` (ChannelRelay::keep).
  Status keep_copy(const Received& item, const GroupOrigin& origin, ByteView channel_id,
                   int64_t row, Bytes clip_key = {});
  // A 1:1 control message, archived already: to its owner.
  Status apply_control(const std::string& from, const wire::Content& content, Effects& effects);
  // Inside the send transaction: archive, encrypt, queue in the outbox.
  Status commit_one(const QueuedSend& send, Committed& out);
  Status commit_group_text(const QueuedSend& send, Committed& out);
  // Checks a channel text before it is queued.
  Status check_channel_send(const storage::ChannelRecord& channel);
  // A batch was committed (or tried): quiet time starts over from its end, so a batch that
  // took longer than kQuietMs is not mistaken for a quiet moment.
  void note_activity();

  // "#name" or "name" (ChannelService::resolve).
  Result<storage::ChannelRecord> resolve_channel(const std::string& name);
  // On the timer: hands out sender keys, starts sessions with fellow members.
  void channel_upkeep(bool on_air);

  Account& account_;
  const Clock& clock_;
  MessengerOptions options_;
  MessengerHooks hooks_;
  ContactBook contacts_;
  Outbox outbox_;
  MessageLedger ledger_;
  SenderKeys keys_;
  ChannelService channels_;
  ExpiryService expiry_;
  ChannelRelay relay_;  // before clips_, which numbers clips through it
  // A VoiceEnd heard live, until the voice side archives the clip it ends: the copy we keep to
  // relay it (keep_copy). Keyed by (talker, transmission id); the oldest go first.
  struct HeardEnd {
    Received item;
    GroupOrigin origin;
    Bytes relay_key;
  };
  static constexpr size_t kMaxHeardEnds = 64;
  std::map<std::pair<std::string, Bytes>, HeardEnd> heard_ends_;
  VoiceClips clips_;
  MailboxClient mailboxes_;
  MailboxDrop drop_;
  // Forwarded frames that can never be opened (garbage, or not from who the mailbox says):
  // the mailbox is told to drop them even though their receive was undone.
  std::vector<std::pair<std::string, uint64_t>> unreadable_;
  std::vector<Received> batch_;
  KeyWaits key_waits_;  // channel messages that overtook their author's sender key
  // A batch's channel signatures checked on the second core while the loop opens it.
  crypto::VerifyAhead verify_ahead_;
  std::vector<QueuedSend> sends_;
  int64_t last_activity_ms_ = 0;  // a batch sent or received
  bool index_due_ = false;        // messages archived since the search index last caught up
};

}  // namespace sotto::core
