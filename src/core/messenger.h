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
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/events.h"
#include "sotto/storage/contact_repo.h"

namespace sotto::core {

struct MessengerOptions {
  bool accept_unknown = true;       // a first message from an unknown identity makes a contact
  int64_t retry_initial_ms = 2000;  // no receipt for this long: resend the unacknowledged
  int64_t retry_max_ms = 60000;
  int64_t bundle_timeout_ms = 5000;
  int64_t bundle_request_interval_ms = 1000;  // per requesting peer: each costs a pre-key
};

// What the messenger needs from the node around it.
struct MessengerHooks {
  std::function<bool(const std::string& fingerprint, ByteView frame)> send_frame;
  std::function<std::optional<PeerInfo>(const std::string& fingerprint)> peer;
  std::function<std::vector<PeerInfo>()> peers;
  std::function<void(Event)> publish;
  std::function<void(const std::string& name, uint64_t n)> count;
};

class Messenger {
 public:
  using AddDone = std::function<void(Result<ContactInfo>)>;
  using SendDone = std::function<void(Result<MessageInfo>)>;

  Messenger(Account& account, const Clock& clock, MessengerOptions options, MessengerHooks hooks);
  Status start();

  // --- front ends ---
  // Checks the request now and queues it; flush_sends() commits every queued message in one
  // transaction (one fsync for all of them), transmits, then calls each `done`.
  void send_text(const std::string& to, const std::string& text, SendDone done);
  void flush_sends();
  // Asks the peer for its bundle, builds the session, makes it a contact; `done` runs later.
  void add_contact(const std::string& peer_query, const std::string& name, AddDone done);
  // The safety number with a contact (for a changed one: with the identity now using its name).
  Result<std::string> safety_number(const std::string& to);
  void confirm_contact(const std::string& to, AddDone done);
  Result<std::vector<ContactInfo>> contacts();
  Result<std::vector<MessageInfo>> history(const std::string& to, int64_t limit);

  // --- network ---
  void on_envelope(const std::string& fingerprint, const wire::Envelope& envelope);
  void on_peer_online(const std::string& fingerprint);
  void on_peer_hello(const std::string& fingerprint, const std::string& name);
  // After each poll: commits the batch of received messages and sends their receipts.
  void after_poll();
  void on_timer();
  // True while frames wait to go out (the loop should come back soon).
  bool busy() const;

 private:
  struct Received {
    std::string from;
    wire::Envelope envelope;  // a SignalMessage or a Receipt
  };
  struct QueuedSend {
    storage::ContactRecord contact;
    std::string text;
    SendDone done;
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
    int64_t retry_at_ms = 0;   // resend from the start if no receipt came by then
    int64_t backoff_ms = 0;
    bool blocked = false;  // the socket queue was full
  };

  Result<storage::ContactRecord> resolve(const std::string& to);
  Result<std::vector<storage::ContactRecord>> all_contacts();
  ContactInfo info_of(const storage::ContactRecord& contact);
  void handle_bundle_request(const std::string& from, const wire::BundleRequest& request);
  void handle_bundle(const std::string& from, const wire::Bundle& bundle);
  void finish_add(PendingAdd add, Result<ContactInfo> result);
  // Inside the receive transaction: one message; receipts to send are collected.
  Status receive_one(const Received& item, std::map<std::string, std::vector<Bytes>>& receipts,
                     std::vector<Event>& events);
  Status apply_receipt(const std::string& from, const wire::Receipt& receipt,
                       std::vector<Event>& events);
  struct Committed {
    MessageInfo info;
    int64_t outbox_id = 0;
    int64_t row = 0;
    Bytes frame;
  };
  // Inside the send transaction: archive, encrypt, queue in the outbox.
  Status commit_one(const QueuedSend& send, Committed& out);
  void transmit(const std::string& recipient, int64_t outbox_id, int64_t row, const Bytes& frame);
  Status ensure_contact(const std::string& fingerprint, std::vector<Event>& events);
  void flush_outbox(const std::string& recipient, bool from_start);
  void mark_sent_pending();

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
};

}  // namespace sotto::core
