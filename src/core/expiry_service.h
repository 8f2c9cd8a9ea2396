// ExpiryService: disappearing messages (issue 8): a conversation may keep its messages only for a
// while.
//
//   setting:  between two people either may set it; it travels as an exactly-once control
//             message (Content.expiry) over the 1:1 session and applies on both sides. In a
//             channel only the admin sets it, for every member; a setting from anyone else is
//             acknowledged, ignored and counted (`expiry_rejected`). Each change is an audit
//             line in the conversation.
//   deletion: every second each node deletes, from its own archive, the messages of such a
//             conversation that arrived longer ago than the setting (text, audit lines, voice
//             clips and their packets; secure_delete overwrites their pages).
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/events.h"
#include "src/core/commit_effects.h"

namespace sotto::core {

struct MessengerHooks;
class ChannelService;
class ContactBook;
class MessageLedger;

class ExpiryService {
 public:
  ExpiryService(Account& account, const Clock& clock, const MessengerHooks& hooks,
                ContactBook& contacts, MessageLedger& ledger, ChannelService& channels);

  // How long `to` (a contact or #channel) keeps messages: 0 = for ever. Tells the peer (or, as
  // the channel's admin, every member) and writes the change into the conversation's history.
  // InvalidArgument for an unknown conversation or a channel we do not administer.
  Result<MessageInfo> set(const std::string& to, int64_t expire_ms);
  // Inside the receive transaction: a setting from a peer (or a channel's admin).
  Status apply(const std::string& from, const wire::Expiry& expiry, Effects& effects);
  // On the timer: deletes what has expired, once a second or at once after a setting changed.
  // The log pages that held it are checkpointed away at once, or, while a voice transmission is
  // live (`on_air`; a checkpoint takes longer than the jitter buffer holds), by the next quiet
  // tidy: take_checkpoint_due() says when that is owed.
  void expire_if_due(int64_t now_ms, bool on_air);
  bool checkpoint_due() const { return checkpoint_due_; }
  bool take_checkpoint_due() { return std::exchange(checkpoint_due_, false); }

 private:
  // A system row (and event) in a 1:1 conversation.
  Status record_direct_event(const std::string& conversation, const std::string& actor,
                             const std::string& text, Effects& effects, MessageInfo* info);

  Account& account_;
  const Clock& clock_;
  const MessengerHooks& hooks_;
  ContactBook& contacts_;
  MessageLedger& ledger_;
  ChannelService& channels_;
  void expire_due(bool on_air);
  // A setting was stored (ours or a peer's): the next timer looks again, at once.
  void setting_changed();

  int64_t expire_at_ms_ = 0;
  bool maybe_active_ = true;  // false once the database said no conversation expires
  bool checkpoint_due_ = false;
};

}  // namespace sotto::core
