// MailboxClient: the two sides of mailboxes that are not the mailbox itself (doc/protocol.md,
// Mailboxes):
//
//   as a user    we name a node as our mailbox (`sotto mailbox use NODE`): it must accept our
//                MailboxRegister before we sign a MailboxRecord naming it and hand that to
//                every contact. On every link-up we register again (the list of contacts who
//                may deposit, and "hand me what you hold"). Forwarded frames are opened by the
//                Messenger under their sender's session, like frames from the sender itself.
//   as a sender  a contact's signed record says where its mail waits. While the contact is
//                offline and its mailbox online, the outbox's 1:1 frames for it are deposited
//                there as they are stored (never encrypted again), a window at a time; what the
//                mailbox holds is marked so and shows "at mailbox" until the contact's own
//                receipt removes it. Over quota, refused or expired: the frames stay in the
//                outbox, the user is told, and they go directly when the contact is back.
//
// Who may send what: a record counts only from the identity it names (the link's), and only
// from a contact; a MailboxState, a Forwarded only from our own mailbox; a MailboxReceipt only
// from the mailbox the recipient's record names.
// Thread-safety: the node's loop thread only.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/mailbox.h"
#include "src/core/commit_effects.h"
#include "src/core/contact_book.h"
#include "src/core/message_ledger.h"

namespace sotto::core {

struct MessengerHooks;

class MailboxClient {
 public:
  using UseDone = std::function<void(Result<MailboxInfo>)>;
  // How long `use` waits for the mailbox's answer.
  static constexpr int64_t kUseTimeoutMs = 5000;
  // Deposits in flight to one recipient's mailbox before its receipts come back.
  static constexpr int64_t kDepositWindow = 256;

  MailboxClient(Account& account, const Clock& clock, const MessengerHooks& hooks,
                MessageLedger& ledger, ContactBook& contacts);
  // Reads our record; asks the node to reach our mailbox and our contacts' ones.
  Status start();
  // `node`: a contact's name, a fingerprint prefix or a peer's name, which must be online and
  // accept us; empty: we use no mailbox any more. `done` runs once the mailbox has answered.
  void use(const std::string& node, UseDone done);
  // The `mailbox` setting: used as soon as that node is online, while we use none. A choice made
  // with `use` (or `off`) while the node runs replaces it.
  void want(const std::string& node) { wanted_ = node; }
  Result<MailboxInfo> info();

  void on_peer_online(const std::string& fingerprint);
  // A contact asked for our pre-key bundle (it is adding us): our record goes with it.
  void on_bundle_request(const std::string& fingerprint);
  // Our mailbox's answer to a MailboxRegister (outside a receive batch: it may finish a `use`).
  void on_state(const std::string& from, const wire::MailboxState& state);
  // Inside the receive transaction.
  Status on_record(const std::string& from, const wire::MailboxRecord& record);
  Status on_receipt(const std::string& from, const wire::MailboxReceipt& receipt,
                    std::vector<Event>& events);
  bool is_own_mailbox(const std::string& fingerprint) const {
    return !own_mailbox_.empty() && fingerprint == own_mailbox_;
  }
  // Our mailbox, or a contact's: the node keeps a link to it.
  bool has_business_with(const std::string& fingerprint);
  // Deposits due, a `use` that timed out, contacts that changed since we registered.
  void on_timer();
  // The node stops: what waits for an offline contact goes to its mailbox now, not at the next
  // tick that will not come (its receipt may not reach us; the outbox keeps the frames).
  void on_stop() { deposit_all(); }

 private:
  struct PendingUse {
    PeerInfo peer;
    int64_t deadline_ms = 0;
    UseDone done;
  };
  // Deposits to one recipient's mailbox awaiting its receipts.
  struct Deposits {
    std::set<Bytes> outstanding;
    int64_t sent_ms = 0;
    int64_t paused_until_ms = 0;  // after over-quota or refused
  };

  Result<PeerInfo> resolve(const std::string& node);
  void send_register(const std::string& mailbox, bool leave);
  std::vector<std::string> allowed_senders();
  // Signs and stores a record naming `peer` (nullopt: none), then hands it to every contact
  // online.
  Result<MailboxInfo> publish(const std::optional<PeerInfo>& peer);
  void announce_to(const std::string& contact);
  // Every 2 s while we have a record: contacts that lack it get it, and our mailbox the list of
  // contacts as it is now.
  void check_contacts();
  void reach(const wire::MailboxRecord& record);
  void deposit_all();
  void deposit_for(const std::string& recipient, const std::string& mailbox);
  // What the mailbox is told of a message's time: 0 when it has none, nullopt when it has run out
  // (our expiry takes it within a second; deposited now, the mailbox would hold it again after
  // dropping it, for the moment between its deadline and ours).
  std::optional<uint64_t> expires_in_ms(const std::string& recipient, int64_t message_row);
  void finish_use(Result<MailboxInfo> result);

  Account& account_;
  const Clock& clock_;
  const MessengerHooks& hooks_;
  MessageLedger& ledger_;
  ContactBook& contacts_;
  std::optional<wire::MailboxRecord> own_record_;
  std::string own_mailbox_;  // fingerprint; empty: none
  std::optional<wire::MailboxState> last_state_;
  std::optional<PendingUse> pending_;
  std::string wanted_;
  int64_t wanted_tried_ms_ = 0;
  std::vector<std::string> registered_senders_;
  // Contacts that have our current record (sent while they were online).
  std::set<std::string> announced_;
  int64_t senders_checked_ms_ = 0;
  std::map<std::string, Deposits> deposits_;  // by recipient
  int64_t deposits_checked_ms_ = 0;
};

}  // namespace sotto::core
