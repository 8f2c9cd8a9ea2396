// MessageLedger: the exactly-once path of 1:1 and channel messages (doc/guide.md, Text) — what one
// transaction commits, and what leaves only after that commit.
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
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/events.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/channel_repo.h"
#include "sotto/storage/contact_repo.h"
#include "sotto/storage/message_repo.h"
#include "src/core/commit_effects.h"
#include "src/core/contact_book.h"
#include "src/core/outbox.h"

namespace sotto::core {

struct MessengerHooks;
struct MessengerOptions;

// A frame off the wire, handled in the next receive batch.
struct Received {
  std::string from;
  wire::Envelope envelope;  // a SignalMessage, a GroupMessage or a Receipt
};

// A text the user sent, checked and waiting for the next send batch.
struct QueuedSend {
  storage::ContactRecord contact;                 // 1:1
  std::optional<storage::ChannelRecord> channel;  // or a channel
  std::string text;
  std::function<void(Result<MessageInfo>)> done;
};

// What committing one QueuedSend produced.
struct Committed {
  MessageInfo info;
  std::vector<Outgoing> out;
  std::vector<Event> events;  // e.g. a sender key rotation on the way
};

class MessageLedger {
 public:
  // Inside the receive transaction: one message. An error rolls the message back unacknowledged
  // (Unavailable: it may decrypt later, e.g. once a roster or sender key has arrived).
  using ReceiveOne = std::function<Status(const Received& item, Effects& effects)>;
  // Inside the send transaction: archive, encrypt, queue in the outbox.
  using CommitOne = std::function<Status(const QueuedSend& send, Committed& out)>;
  // Inside the receive transaction: applies a decrypted 1:1 control message (a roster, a sender
  // key, a leave, an expiry) once its row is archived.
  using ApplyControl =
      std::function<Status(const std::string& from, const wire::Content& content, Effects&)>;

  MessageLedger(Account& account, const Clock& clock, const MessengerOptions& options,
                const MessengerHooks& hooks, ContactBook& contacts, Outbox& outbox);

  // One transaction for the batch; after its commit the receipts, frames and events go out.
  void receive_batch(const std::vector<Received>& batch, const ReceiveOne& receive_one);
  // One transaction for the sends; after its commit they are transmitted and each `done` runs.
  void commit_sends(std::vector<QueuedSend> sends, const CommitOne& commit_one);
  // Runs `body` in a transaction; after the commit, transmits and publishes what it produced.
  Status in_transaction(const std::function<Status(Effects&)>& body);
  // Runs `body` under a savepoint: what it wrote is undone when it fails.
  Status in_savepoint(const std::function<Status()>& body);

  // Inside a transaction: archives `content` for `to` as a hidden control row, encrypts it in
  // the 1:1 session and queues it in the outbox (exactly once, in order, like text).
  Status commit_direct(const std::string& to, wire::Content content, std::vector<Outgoing>& out);
  // Archive row + encrypted frame + outbox row of a 1:1 message; `message` gets its id.
  Status commit_signal(const std::string& to, storage::MessageRecord& message,
                       wire::Content content, std::vector<Outgoing>& out);

  // Inside the receive transaction: a 1:1 message (text or control), decrypted and archived.
  Status receive_direct(const Received& item, Effects& effects, const ApplyControl& apply_control);
  Status apply_receipt(const std::string& from, const wire::Receipt& receipt,
                       std::vector<Event>& events);
  // Inside a transaction: `from` holds the messages of these archive rows (its marks said so,
  // doc/protocol.md, Relay), as if it had sent a receipt for each.
  Status acknowledge_rows(const std::string& from, const std::vector<int64_t>& rows,
                          std::vector<Event>& events);
  // A duplicate of a message committed before (a retry): counted, and acknowledged again when
  // its row is in the archive.
  void acknowledge_duplicate(const std::string& from, const Bytes& message_id, Effects& effects);

  // Whether committed frames went out since the last call (a roster may have changed).
  bool take_frames_out() { return std::exchange(frames_out_, false); }

 private:
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
  // One item of commit_items: true when it wrote before it failed (the batch must run again).
  bool run_item(size_t i, bool savepoint, const BatchSteps& steps, Status& status);
  // After the commit of the sends: transmits them all, then reports each.
  void report_sends(std::vector<QueuedSend>& sends, std::vector<Committed>& committed,
                    const std::vector<Status>& outcomes);
  // After a commit: the receipts, live frames, outbox frames and events it produced.
  void finish(Effects& effects);
  // After a commit: one storage-full alert when commits start failing for lack of space and one
  // storage-recovered alert when one succeeds again, not an alert per failed batch.
  void note_storage(const Status& status);

  Status admit_sender(const std::string& from);
  // One of our messages acknowledged by `from`: its outbox entry goes; the message is delivered
  // once every recipient has acknowledged it. False when nothing waited for `from`.
  Result<bool> acknowledge(const std::string& from, int64_t row, const Bytes& message_id,
                           std::vector<Event>& events);
  Result<crypto::Ciphertext> ciphertext_of(const Received& item);
  // A message that did not decrypt: a duplicate is acknowledged again, the rest refused.
  Status refuse_undecrypted(const std::string& from, const Bytes& message_id, const Status& why,
                            Effects& effects);
  // After receive_direct decrypted and checked it: archives a 1:1 message (text or control)
  // and applies a control message.
  Status archive_direct(const std::string& from, const Bytes& message_id,
                        const wire::Content& content, Effects& effects,
                        const ApplyControl& apply_control);

  Account& account_;
  const Clock& clock_;
  const MessengerOptions& options_;
  const MessengerHooks& hooks_;
  ContactBook& contacts_;
  Outbox& outbox_;
  bool storage_full_ = false;  // the last commit failed for lack of space
  bool frames_out_ = false;
};

}  // namespace sotto::core
