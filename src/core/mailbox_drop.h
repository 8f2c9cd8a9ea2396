// MailboxDrop: this node as a mailbox (`sotto daemon --mailbox`; doc/protocol.md, Mailboxes).
// It holds its users' 1:1 frames while they are away and hands them over when they come back:
//
//   register  a user (any identity that proved its transport key; at most MailboxLimits::
//             max_users) names the contacts whose deposits it takes, on every link-up; that also
//             asks for what is held. A node not serving refuses.
//   deposit   a sender's frame for a user, committed before its MailboxReceipt (HELD) goes out;
//             refused from anyone the user did not name, and over the user's quota (OVER_QUOTA,
//             so the sender keeps it in its outbox).
//   handover  held frames go to the user as Forwarded, in deposit order, a window at a time; a
//             frame goes only when the user says it committed it (MailboxTaken), so a crash on
//             either side loses nothing and the user's archive takes a repeat once.
//   expiry    a frame past its time (the sender's disappearing-message setting, or max_hold_ms)
//             is dropped and its sender told (EXPIRED) when next online.
//
// The frames are Signal ciphertext between sender and user: this node reads and forges nothing.
// Thread-safety: the node's loop thread only.
#pragma once

#include <map>
#include <string>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/mailbox.h"
#include "src/core/commit_effects.h"
#include "src/core/contact_book.h"

namespace sotto::core {

struct MessengerHooks;

class MailboxDrop {
 public:
  // Forwarded frames in flight to one user before its MailboxTaken come back.
  static constexpr int64_t kWindow = 128;

  MailboxDrop(Account& account, const Clock& clock, const MessengerHooks& hooks,
              ContactBook& contacts, bool serving, MailboxLimits limits);
  bool serving() const { return serving_; }

  // Inside the receive transaction; replies go out after its commit (Effects::live).
  Status on_register(const std::string& from, const wire::MailboxRegister& request,
                     Effects& effects);
  Status on_deposit(const std::string& from, const wire::MailboxDeposit& deposit, Effects& effects);
  Status on_taken(const std::string& from, const wire::MailboxTaken& taken);
  // After each receive commit: hand-overs that are due.
  void after_commit();
  void on_peer_online(const std::string& fingerprint);
  // Expiry, hand-overs that got no answer, notices owed.
  void on_timer();
  // Whether `fingerprint` uses this mailbox (its frames deserve a contact's rate limit).
  bool serves(const std::string& fingerprint);
  Result<MailboxInfo> describe(MailboxInfo info);

 private:
  struct Handover {
    int64_t sent_through = 0;  // the last handle forwarded since the restart
    int64_t in_flight = 0;
    int64_t last_progress_ms = 0;
    bool due = false;
  };
  void restart(const std::string& user);
  void forward(const std::string& user, Handover& handover);
  void send_notices(const std::string& sender);
  void reply(Effects& effects, const std::string& to, wire::Envelope envelope);

  Account& account_;
  const Clock& clock_;
  const MessengerHooks& hooks_;
  ContactBook& contacts_;
  const bool serving_;
  const MailboxLimits limits_;
  std::map<std::string, Handover> handovers_;
  int64_t expiry_checked_ms_ = 0;
};

}  // namespace sotto::core
