// Messenger: 1:1 text on top of the node's links (DESIGN §6): contacts, X3DH through bundles,
// the durable outbox, receipts and exactly-once archiving.
//
//   send:    one transaction commits the plaintext into the archive, the Signal ciphertext (with
//            the ratchet step) and the outbox row; only then is the frame transmitted. Retries
//            resend the stored frame; nothing is encrypted twice.
//   receive: frames that arrive together are handled in one IMMEDIATE transaction (one fsync,
//            synchronous=FULL): decrypt through the store callbacks, insert into the archive
//            (unique on sender + id), encrypt the receipts; COMMIT; only then are the receipts
//            sent. A crash before the commit undoes ratchet and rows alike, so the sender's retry
//            decrypts normally; after it, the retry is a libsignal duplicate, answered with a
//            receipt from the archive and not stored again.
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
#include "sotto/storage/channel_repo.h"
#include "sotto/storage/contact_repo.h"
#include "sotto/storage/message_repo.h"
#include "src/core/account_internals.h"
#include "src/core/counters.h"
#include "src/core/voice_types.h"

namespace sotto::core {

Trust trust_of(storage::Trust trust);

struct MessengerOptions {
  bool accept_unknown = true;       // a first message from an unknown identity makes a contact
  int64_t retry_initial_ms = 2000;  // no receipt for this long: resend the unacknowledged
  int64_t retry_max_ms = 60000;
  // A retry resends at most this many of the oldest unacknowledged frames, and the next ones only
  // as receipts come back: a receiver that is merely slow must not be buried in duplicates.
  int64_t retry_window = 256;
  int64_t bundle_timeout_ms = 5000;
  int64_t bundle_request_interval_ms = 1000;  // per requesting peer: each costs a pre-key
};

// What the messenger needs from the node around it.
struct MessengerHooks {
  std::function<bool(const std::string& fingerprint, ByteView frame)> send_frame;
  std::function<std::optional<PeerInfo>(const std::string& fingerprint)> peer;
  std::function<std::vector<PeerInfo>()> peers;
  std::function<void(Event)> publish;
  std::function<void(Counter counter, uint64_t n)> count;
  // `fingerprint` became a contact or co-member: it may now learn our name (a new Hello).
  std::function<void(const std::string& fingerprint)> introduce;
  // Voice (messenger_voice.cpp): a member's transmission begins; it ends — the whole clip when
  // every frame was heard, else nullopt (the clip then comes through the outbox); a clip was
  // archived (heard live or delivered later). Optional.
  std::function<void(const std::string& from, const VoiceChannel& channel,
                     const wire::VoiceStart& start)>
      voice_start;
  std::function<std::optional<HeardClip>(const std::string& from, const wire::VoiceEnd& end)>
      voice_end;
  std::function<void(const std::string& from, const VoiceChannel& channel,
                     const ArchivedClip& clip)>
      voice_archived;
  // Adds live voice state (who is on air, recent transmissions) to a channel's description.
  std::function<void(ChannelInfo& info)> voice_status;
  // A roster was applied (here or from the admin): `members` is the channel's roster now, and
  // `still_member` whether we are on it. Runs inside the transaction that applies it, so it
  // must not call back into the Messenger. Optional.
  std::function<void(const Bytes& channel_id, const std::vector<std::string>& members,
                     bool still_member)>
      roster_changed;
};

class Messenger {
 public:
  using AddDone = std::function<void(Result<ContactInfo>)>;
  using SendDone = std::function<void(Result<MessageInfo>)>;

  Messenger(Account& account, const Clock& clock, MessengerOptions options, MessengerHooks hooks);
  Status start();
  const Clock& clock() const { return clock_; }

  // --- front ends ---
  // Checks the request now and queues it; flush_sends() commits every queued message in one
  // transaction (one fsync for all of them), transmits, then calls each `done`.
  void send_text(const std::string& to, const std::string& text, SendDone done);
  void flush_sends();
  // Asks the peer for its bundle, builds the session, makes it a contact; `done` runs later.
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
  // --- archive reads (messenger_archive.cpp; search and export in src/core/archive.h) ---
  // The archive's conversation key for TO (contact name, fingerprint prefix or #channel).
  Result<std::string> conversation_key(const std::string& to);
  // Archive rows as history() shows them; `labels`, when given, gets each row's conversation
  // as people name it ("#channel", or the contact's name).
  Result<std::vector<MessageInfo>> describe(const std::vector<storage::MessageRecord>& rows,
                                            std::vector<std::string>* labels = nullptr);

  // --- channels (messenger_channels.cpp, DESIGN §7) ---
  Result<ChannelInfo> create_channel(const std::string& name, bool strict, bool free_voice = false);
  Result<ChannelInfo> invite_to_channel(const std::string& channel, const std::string& peer);
  Result<ChannelInfo> remove_from_channel(const std::string& channel, const std::string& peer);
  Result<ChannelInfo> leave_channel(const std::string& channel);
  // An invitation (a roster from an admin we have not verified): join it, or tell the admin no.
  Result<ChannelInfo> accept_channel(const std::string& channel);
  Result<ChannelInfo> decline_channel(const std::string& channel);
  Result<std::vector<ChannelInfo>> channels();
  Result<ChannelInfo> channel(const std::string& channel);

  // --- voice (messenger_voice.cpp, DESIGN §8) ---
  // Draws the transmission key and id, sends VoiceStart under our sender key to the members
  // online now. InvalidArgument for an unknown channel or one we are not a member of.
  Result<TransmissionStart> open_transmission(const std::string& channel, uint32_t frame_ms,
                                              uint32_t bitrate, int64_t started_at_us);
  // Signs and archives the clip, sends VoiceEnd to the live members and queues the whole clip
  // for every member since the start (those who heard it all acknowledge it at once, so it goes
  // only to the rest).
  Result<MessageInfo> close_transmission(const TransmissionEnd& end);
  // The archived clip whose message id starts with `id_prefix` (hex).
  Result<ArchivedClip> find_clip(const std::string& id_prefix);
  // A channel we are a member of, as the voice engine needs it.
  Result<VoiceChannel> voice_channel(const std::string& channel);
  // True when we are a member of the channel and `fingerprint` is on its roster.
  bool is_voice_member(ByteView channel_id, const std::string& fingerprint);
  // A member's or contact's display name (the fingerprint's start when unknown).
  std::string name_of(const std::string& fingerprint);

  // --- disappearing messages (messenger_expiry.cpp) ---
  // How long `to` (a contact or #channel) keeps messages: 0 = for ever. Tells the peer (or, as
  // the channel's admin, every member) and writes the change into the conversation's history.
  // InvalidArgument for an unknown conversation or a channel we do not administer.
  Result<MessageInfo> set_expiry(const std::string& to, int64_t expire_ms);
  // Deletes what has expired; runs on the timer.
  void expire_due();

  // --- network ---
  void on_envelope(const std::string& fingerprint, const wire::Envelope& envelope);
  // `reconnected`: over a new connection (resend everything unacknowledged); else the same one
  // after a quiet spell (carry on where the outbox was).
  void on_peer_online(const std::string& fingerprint, bool reconnected = true);
  // A contact or a fellow channel member: someone our display name may go to.
  bool knows(const std::string& fingerprint);
  // After each poll: commits the batch of received messages and sends their receipts.
  void after_poll();
  void on_timer();
  // Housekeeping that would otherwise land on some message's path (indexing new messages for
  // search, copying the write-ahead log into the database): once nothing was sent or received
  // for kQuietMs. A node never quiet still gets both, inside a commit, at their hard limits
  // (SearchRepo::kIndexBatch, Database's log limit).
  void tidy_when_quiet();
  // When tidy_when_quiet has something to do, if the node stays quiet.
  std::optional<int64_t> tidy_at_ms() const;
  // True while sends or received frames wait for the next round: the loop must not sleep.
  bool has_queued_work() const;
  // True while frames wait to go out (the loop should come back soon).
  bool busy() const;
  // Frames in the outbox, waiting for a receipt (0 when the count cannot be read).
  uint64_t outbox_waiting();

 private:
  struct Received {
    std::string from;
    wire::Envelope envelope;  // a SignalMessage or a Receipt
  };
  struct QueuedSend {
    storage::ContactRecord contact;                 // 1:1
    std::optional<storage::ChannelRecord> channel;  // or a channel
    std::string text;
    SendDone done;
  };
  // A committed frame that may go out once its transaction is durable.
  struct Outgoing {
    std::string recipient;
    int64_t outbox_id = 0;
    int64_t row = 0;
    Bytes frame;
    // Already delivered another way (a voice clip heard live): count it as sent, and let the
    // retry timer send it only if no receipt comes.
    bool held = false;
  };
  struct PendingAdd {
    std::string fingerprint;
    std::string name;
    Bytes request_id;
    int64_t deadline_ms = 0;
    AddDone done;
  };
  struct Flow {                // the outbox towards one recipient
    int64_t sent_through = 0;  // highest outbox id handed to the socket since it came online
    int64_t retry_at_ms = 0;   // resend the oldest window if no receipt came by then
    int64_t backoff_ms = 0;
    int64_t patience_ms = 0;        // learned from the gaps between this peer's receipts
    int64_t awaiting_since_ms = 0;  // the last send from idle, or the last receipt; 0 when idle
    int64_t resent_through = 0;     // recovering after a retry: the highest id resent; else 0
    bool receipts_since_check = false;
    bool blocked = false;  // the socket queue was full
    // The peer acknowledged a 1:1 message of the current session since we started (so our
    // messages to it no longer carry the X3DH pre-key header).
    bool session_confirmed = false;

    // Everything acknowledged: no retry, and the time until the next send is not a gap.
    void idle() {
      retry_at_ms = 0;
      awaiting_since_ms = 0;
      resent_through = 0;
    }
  };

  Result<storage::ContactRecord> resolve(const std::string& to);
  Result<std::vector<storage::ContactRecord>> all_contacts();
  ContactInfo info_of(const storage::ContactRecord& contact);
  void handle_bundle_request(const std::string& from, const wire::BundleRequest& request);
  void handle_bundle(const std::string& from, const wire::Bundle& bundle);
  void finish_add(PendingAdd add, Result<ContactInfo> result);
  // What one receive transaction collects to do after its commit.
  struct Effects {
    std::map<std::string, std::vector<Bytes>> receipts;
    std::vector<Event> events;
    std::vector<Outgoing> out;
    std::vector<std::pair<std::string, Bytes>> live;  // frames outside the outbox (voice)
  };
  // Inside the receive transaction: one message. An error rolls the message back unacknowledged
  // (Unavailable: it may decrypt later, e.g. once a roster or sender key has arrived).
  Status receive_one(const Received& item, Effects& effects);
  Status receive_direct(const Received& item, Effects& effects);
  Status receive_group(const Received& item, Effects& effects);
  // After receive_direct decrypted and checked it: archives a 1:1 message (text or control)
  // and applies a control message.
  Status archive_direct(const std::string& from, const Bytes& message_id,
                        const wire::Content& content, Effects& effects);
  // Runs `body` under a savepoint: what it wrote is undone when it fails.
  Status in_savepoint(const std::function<Status()>& body);
  Status apply_receipt(const std::string& from, const wire::Receipt& receipt,
                       std::vector<Event>& events);
  struct Committed {
    MessageInfo info;
    std::vector<Outgoing> out;
    std::vector<Event> events;  // e.g. a sender key rotation on the way
  };
  // Inside the send transaction: archive, encrypt, queue in the outbox.
  Status commit_one(const QueuedSend& send, Committed& out);
  Status commit_group_text(const QueuedSend& send, Committed& out);
  // Inside a transaction: archives `content` for `to` as a hidden control row, encrypts it in
  // the 1:1 session and queues it in the outbox (exactly once, in order, like text).
  Status commit_direct(const std::string& to, wire::Content content, std::vector<Outgoing>& out);
  // Archive row + encrypted frame + outbox row of a 1:1 message; `message` gets its id.
  Status commit_signal(const std::string& to, storage::MessageRecord& message,
                       wire::Content content, std::vector<Outgoing>& out);
  // One transaction for a batch of items (queued sends, or messages received together), so the
  // batch pays one commit and one fsync; an item that fails is undone alone. The ratchet
  // writes an item makes are held in memory (crypto::HeldSignalState) and simply dropped; an
  // item that may fail after SQL writes of its own (`risky`) also runs under a savepoint (which
  // SQLCipher makes costly: every page it touches is encrypted into the savepoint journal).
  // Should an item fail and leave a change behind anyway, the transaction is rolled back and
  // the batch runs again with a savepoint for each item, after `restart` forgot what the first
  // run produced in memory. Returns the commit's status.
  struct BatchSteps {
    std::function<bool(size_t)> risky;
    std::function<Status(size_t)> run;
    std::function<void(size_t)> undo;  // item i failed: forget what it produced in memory
    std::function<void()> restart;
    std::function<void()> before_commit;  // optional
  };
  Status commit_items(size_t count, const BatchSteps& steps);
  void transmit_all(const std::vector<Outgoing>& out);
  // `frames` (for `recipient`, oldest first) after their commit.
  void transmit_to(const std::string& recipient, std::vector<const Outgoing*> frames);
  Status ensure_contact(const std::string& fingerprint, std::vector<Event>& events);
  void flush_outbox(const std::string& recipient, bool from_start);
  // Resends up to retry_window frames already sent on this connection, oldest first, with id >
  // after_id; recovery continues from the last of them while receipts come back.
  void resend_window(const std::string& recipient, int64_t after_id);
  void arm_retry(Flow& flow);
  // A receipt for message `row` from `from`: if it was a 1:1 message, the peer holds our
  // session, and SignalEngine::confirm_session stops the pre-key header (once per peer and run).
  Status note_session_confirmed(const std::string& from, int64_t row);
  void note_progress(const std::string& recipient);
  void continue_recovery(const std::string& recipient, Flow& flow);
  void mark_sent_pending();
  // A batch was committed (or tried): quiet time starts over.
  void note_activity();
  void finish_receive(Effects& effects);
  // After a commit: one storage-full alert when commits start failing for lack of space and one
  // storage-recovered alert when one succeeds again, not an alert per failed batch.
  void note_storage(const Status& status);

  // --- channels (messenger_channels.cpp) ---
  Result<storage::ChannelRecord> resolve_channel(const std::string& name);
  Result<ChannelInfo> channel_info(const storage::ChannelRecord& channel);
  MessageInfo message_info(const storage::MessageRecord& record, const std::string& sender_name,
                           Trust trust, const std::string& channel_name);
  // Runs `body` in a transaction; after the commit, transmits and publishes what it produced.
  Status in_transaction(const std::function<Status(Effects&)>& body);
  // Admin: signs the next epoch's roster, stores it, sends it to `recipients` (1:1).
  Status issue_roster(storage::ChannelRecord& channel,
                      const std::vector<storage::ChannelMemberRecord>& members,
                      const std::string& change, const Bytes& subject_key, bool dissolved,
                      const std::vector<std::string>& recipients, Effects& effects);
  // Member side of issue_roster: stores a checked roster, starts a new own sender key. With
  // `invitation`, a roster that lists us leaves the channel invited, not joined.
  Status apply_roster(const std::string& from, const wire::Roster& roster, ByteView update_blob,
                      bool invitation, Effects& effects);
  // Members not in `before` may now learn our name.
  void introduce_new_members(const std::vector<storage::ChannelMemberRecord>& members,
                             const std::vector<storage::ChannelMemberRecord>& before);
  // We verified `fingerprint` with this very key (or it is us).
  Result<bool> verified(const std::string& fingerprint, const Bytes& identity_key);
  // A ChannelLeave to the admin; the channel is left here at once.
  Status send_leave(storage::ChannelRecord& channel, Effects& effects);
  Status apply_update(const std::string& from, const wire::ChannelUpdate& update, Effects& effects);
  Status apply_sender_key(const std::string& from, const wire::SenderKey& key);
  Status apply_leave(const std::string& from, const wire::ChannelLeave& leave, Effects& effects);
  Status rotate_own_key(storage::ChannelRecord& channel);
  // Before we encrypt under our sender key: a new one after kRotateAfterMessages uses.
  Status rotate_if_worn(storage::ChannelRecord& channel, Effects& effects);
  Status apply_expiry(const std::string& from, const wire::Expiry& expiry, Effects& effects);
  // A system row (and event) in a 1:1 conversation.
  Status record_direct_event(const std::string& conversation, const std::string& actor,
                             const std::string& text, Effects& effects, MessageInfo* info);
  int64_t expire_at_ms_ = 0;
  // --- voice (messenger_voice.cpp) ---
  Status receive_voice(const std::string& from, const storage::ChannelRecord& channel,
                       const wire::Content& content, Effects& effects);
  // Checks the talker's signature and archives the clip once; acknowledges it.
  Status archive_clip(const std::string& from, const storage::ChannelRecord& channel,
                      const wire::VoiceStart& start, const std::vector<Bytes>& packets,
                      const Bytes& timing, ByteView signature, Effects& effects);
  // A Content encrypted under our current sender key for `channel`, as a GroupMessage frame.
  Result<Bytes> group_frame(const storage::ChannelRecord& channel, ByteView message_id,
                            wire::Content content);
  // Queues our current sender key to every member with a session who lacks it.
  Status share_own_key(const storage::ChannelRecord& channel, Effects& effects);
  // Audit trail: a system row in the channel's history, and an event.
  Status record_channel_event(const storage::ChannelRecord& channel, const std::string& actor,
                              const std::string& change, const std::string& subject,
                              const std::string& text, Effects& effects, int64_t at_ms = 0);
  // On the timer: hands out sender keys, starts sessions with fellow members.
  void channel_upkeep();

  Account& account_;
  const Clock& clock_;
  MessengerOptions options_;
  MessengerHooks hooks_;
  std::vector<Received> batch_;
  std::map<std::string, Flow> flows_;
  std::vector<int64_t> sent_rows_;  // to mark "sent" now and then (cosmetic: no fsync)
  int64_t sent_marked_ms_ = 0;
  std::vector<QueuedSend> sends_;
  std::vector<PendingAdd> pending_adds_;
  std::map<std::string, int64_t> last_bundle_served_ms_;
  std::set<std::string> member_sessions_pending_;  // bundle requests made for channel members
  int64_t upkeep_at_ms_ = 0;
  int64_t last_activity_ms_ = 0;  // a batch sent or received
  bool index_due_ = false;        // messages archived since the search index last caught up
  bool storage_full_ = false;     // the last commit failed for lack of space
};

}  // namespace sotto::core
