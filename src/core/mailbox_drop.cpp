#include "src/core/mailbox_drop.h"

#include <algorithm>
#include <vector>

#include "sotto/base/crash_point.h"
#include "sotto/storage/mailbox_repo.h"
#include "src/core/account_internals.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

constexpr int kMaxSenders = 4096;
constexpr int kMaxTakenHandles = 1024;
constexpr size_t kFingerprintBytes = 32;
// A window forwarded without a MailboxTaken for this long goes again from the start.
constexpr int64_t kHandoverPatienceMs = 5000;
constexpr int64_t kExpiryCheckMs = 1000;
constexpr int64_t kNoticesPerFrame = 256;

bool is_fingerprint(const std::string& text) {
  return text.size() == 64 && from_hex(text).has_value();
}

bool is_signal_message(const wire::SignalMessage& m) {
  return m.message_id().size() == net::kMessageIdSize && !m.body().empty() &&
         (m.type() == 2 || m.type() == 3);
}

}  // namespace

MailboxDrop::MailboxDrop(Account& account, const Clock& clock, const MessengerHooks& hooks,
                         ContactBook& contacts, bool serving, MailboxLimits limits)
    : account_(account),
      clock_(clock),
      hooks_(hooks),
      contacts_(contacts),
      serving_(serving),
      limits_(limits) {}

void MailboxDrop::reply(Effects& effects, const std::string& to, wire::Envelope envelope) {
  auto frame = net::encode_frame(std::move(envelope));
  if (frame.is_ok()) effects.live.emplace_back(to, std::move(frame).value());
}

Status MailboxDrop::on_register(const std::string& from, const wire::MailboxRegister& request,
                                Effects& effects) {
  wire::Envelope answer;
  auto* state = answer.mutable_mailbox_state();
  auto refuse = [&](const char* reason) {
    hooks_.count(Counter::mailbox_register_refused, 1);
    state->set_kind(wire::MailboxState::REFUSED);
    state->set_reason(reason);
    reply(effects, from, std::move(answer));
    return Status::ok();
  };
  if (!serving_) return refuse("this node is not a mailbox");
  storage::MailboxStore store(AccountInternals::db(account_));
  if (request.leave()) {
    SOTTO_RETURN_IF_ERROR(store.remove_user(from));
    handovers_.erase(from);
    state->set_kind(wire::MailboxState::LEFT);
    reply(effects, from, std::move(answer));
    return Status::ok();
  }
  if (request.senders_size() > kMaxSenders) return refuse("too many senders");
  std::vector<std::string> senders;
  senders.reserve(static_cast<size_t>(request.senders_size()));
  for (const auto& s : request.senders()) {
    if (s.size() != kFingerprintBytes) return refuse("malformed sender");
    senders.push_back(to_hex(as_bytes(s)));
  }
  SOTTO_ASSIGN_OR_RETURN(bool known, store.is_user(from));
  if (!known) {
    SOTTO_ASSIGN_OR_RETURN(int64_t users, store.user_count());
    if (users >= limits_.max_users) return refuse("this mailbox has as many users as it takes");
  }
  SOTTO_RETURN_IF_ERROR(store.register_user(from, senders, clock_.wall_ms()));
  SOTTO_ASSIGN_OR_RETURN(storage::MailboxUserStats stats, store.stats(from));
  state->set_kind(wire::MailboxState::ACCEPTED);
  state->set_quota_bytes(static_cast<uint64_t>(limits_.quota_bytes));
  state->set_held(static_cast<uint64_t>(stats.held));
  reply(effects, from, std::move(answer));
  restart(from);  // "hand me what you hold", from the first frame
  return Status::ok();
}

Status MailboxDrop::on_deposit(const std::string& from, const wire::MailboxDeposit& deposit,
                               Effects& effects) {
  const wire::SignalMessage& message = deposit.message();
  if (!is_fingerprint(deposit.recipient()) || !is_signal_message(message)) {
    hooks_.count(Counter::mailbox_dropped_malformed, 1);
    return Status::ok();
  }
  wire::Envelope answer;
  auto* receipt = answer.mutable_mailbox_receipt();
  receipt->set_recipient(deposit.recipient());
  receipt->add_ids(message.message_id());
  receipt->set_kind(wire::MailboxReceipt::REFUSED);
  if (serving_) {
    int64_t hold_ms = limits_.max_hold_ms;
    if (deposit.expires_in_ms() > 0) {
      hold_ms = std::min<int64_t>(hold_ms, static_cast<int64_t>(std::min<uint64_t>(
                                               deposit.expires_in_ms(), INT64_MAX / 2)));
    }
    const std::string stored = message.SerializeAsString();
    SOTTO_ASSIGN_OR_RETURN(
        storage::DepositOutcome outcome,
        storage::MailboxStore(AccountInternals::db(account_))
            .deposit(deposit.recipient(), from, as_bytes(message.message_id()), as_bytes(stored),
                     clock_.wall_ms() + hold_ms, limits_.quota_bytes));
    switch (outcome) {
      case storage::DepositOutcome::kHeld:
        hooks_.count(Counter::mailbox_deposits_held, 1);
        if (auto it = handovers_.find(deposit.recipient()); it != handovers_.end()) {
          it->second.due = true;  // the user is here: it goes on at once
        }
        [[fallthrough]];
      case storage::DepositOutcome::kAlreadyHeld:
        receipt->set_kind(wire::MailboxReceipt::HELD);
        break;
      case storage::DepositOutcome::kOverQuota:
        hooks_.count(Counter::mailbox_deposits_over_quota, 1);
        receipt->set_kind(wire::MailboxReceipt::OVER_QUOTA);
        break;
      case storage::DepositOutcome::kRefused:
        break;
    }
  }
  if (receipt->kind() == wire::MailboxReceipt::REFUSED) {
    hooks_.count(Counter::mailbox_deposit_refused, 1);
  }
  reply(effects, from, std::move(answer));
  return Status::ok();
}

Status MailboxDrop::on_taken(const std::string& from, const wire::MailboxTaken& taken) {
  if (taken.handles_size() > kMaxTakenHandles) {
    hooks_.count(Counter::mailbox_dropped_malformed, 1);
    return Status::ok();
  }
  storage::MailboxStore store(AccountInternals::db(account_));
  int64_t took = 0;
  for (uint64_t handle : taken.handles()) {
    // Only the user's own frames: a handle is a row id anyone could guess.
    SOTTO_ASSIGN_OR_RETURN(
        bool removed,
        store.take(from, static_cast<int64_t>(std::min<uint64_t>(handle, INT64_MAX))));
    hooks_.count(removed ? Counter::mailbox_taken : Counter::mailbox_taken_refused, 1);
    took += removed ? 1 : 0;
  }
  auto it = handovers_.find(from);
  if (it != handovers_.end() && took > 0) {
    Handover& h = it->second;
    h.in_flight = std::max<int64_t>(0, h.in_flight - took);
    h.last_progress_ms = clock_.now_ms();
    if (h.in_flight <= kWindow / 2) h.due = true;
  }
  return Status::ok();
}

void MailboxDrop::restart(const std::string& user) {
  Handover& h = handovers_[user];
  h = Handover{};
  h.due = true;
}

void MailboxDrop::after_commit() {
  for (auto& [user, handover] : handovers_) {
    // A user's register can come before we see it online (its frames arrive on its own link
    // while ours to it is still reconnecting): the handover waits, due, for on_peer_online or
    // the next timer, instead of waiting for a register that will not come again.
    if (!handover.due || !is_online(hooks_.peer(user))) continue;
    handover.due = false;
    forward(user, handover);
  }
}

void MailboxDrop::forward(const std::string& user, Handover& handover) {
  const int64_t room = kWindow - handover.in_flight;
  if (room <= 0) return;
  auto held =
      storage::MailboxStore(AccountInternals::db(account_)).held(user, handover.sent_through, room);
  if (!held.is_ok()) return;
  for (const storage::HeldFrame& frame : held.value()) {
    wire::Envelope envelope;
    auto* forwarded = envelope.mutable_forwarded();
    forwarded->set_from(frame.sender);
    forwarded->set_handle(static_cast<uint64_t>(frame.handle));
    if (!forwarded->mutable_message()->ParseFromArray(frame.message.data(),
                                                      static_cast<int>(frame.message.size()))) {
      continue;
    }
    auto encoded = net::encode_frame(std::move(envelope));
    if (!encoded.is_ok() || !hooks_.send_frame(user, encoded.value())) {
      handover = Handover{};  // gone: everything goes again when it registers
      return;
    }
    // Tests kill us here, mid-handover: the frame stays held until its user takes it.
    crash_point(CrashPoint::kMailboxForwarded);
    if (handover.in_flight == 0) handover.last_progress_ms = clock_.now_ms();
    handover.sent_through = frame.handle;
    ++handover.in_flight;
    hooks_.count(Counter::mailbox_forwarded, 1);
  }
}

void MailboxDrop::on_peer_online(const std::string& fingerprint) {
  // A user registers itself when it comes back (and a handover it asked for before we saw it
  // online goes now); a sender may be owed notices.
  if (!serving_) return;
  send_notices(fingerprint);
  after_commit();
}

void MailboxDrop::send_notices(const std::string& sender) {
  storage::Database& db = AccountInternals::db(account_);
  storage::MailboxStore store(db);
  auto notices = store.notices_for(sender, kNoticesPerFrame);
  if (!notices.is_ok() || notices.value().empty()) return;
  std::map<std::string, wire::Envelope> by_recipient;
  for (const auto& n : notices.value()) {
    wire::Envelope& envelope = by_recipient[n.recipient];
    auto* receipt = envelope.mutable_mailbox_receipt();
    receipt->set_recipient(n.recipient);
    receipt->set_kind(wire::MailboxReceipt::EXPIRED);
    receipt->add_ids(as_chars(n.message_id).data(), n.message_id.size());
  }
  for (auto& [recipient, envelope] : by_recipient) {
    auto frame = net::encode_frame(std::move(envelope));
    if (!frame.is_ok() || !hooks_.send_frame(sender, frame.value())) return;
  }
  storage::Transaction tx(db);
  if (!tx.begin_status().is_ok()) return;
  for (const auto& n : notices.value()) {
    if (!store.drop_notice(n.id).is_ok()) return;
  }
  (void)tx.commit();
}

void MailboxDrop::on_timer() {
  if (!serving_) return;
  const int64_t now = clock_.now_ms();
  for (auto& [user, handover] : handovers_) {
    if (handover.in_flight > 0 && now - handover.last_progress_ms >= kHandoverPatienceMs) {
      handover = Handover{};  // lost on the way (or the user restarted): from the start again
      handover.due = true;
    }
  }
  after_commit();
  if (now - expiry_checked_ms_ < kExpiryCheckMs) return;
  expiry_checked_ms_ = now;
  storage::Database& db = AccountInternals::db(account_);
  storage::MailboxStore store(db);
  {
    storage::Transaction tx(db);
    if (!tx.begin_status().is_ok()) return;
    auto expired = store.expire(clock_.wall_ms());
    if (!expired.is_ok() || !tx.commit().is_ok()) return;
    if (expired.value() > 0) {
      hooks_.count(Counter::mailbox_expired, static_cast<uint64_t>(expired.value()));
    }
  }
  auto senders = store.senders_with_notices();
  if (!senders.is_ok()) return;
  for (const std::string& sender : senders.value()) {
    if (is_online(hooks_.peer(sender))) send_notices(sender);
  }
}

bool MailboxDrop::serves(const std::string& fingerprint) {
  if (!serving_) return false;
  auto user = storage::MailboxStore(AccountInternals::db(account_)).is_user(fingerprint);
  return user.is_ok() && user.value();
}

Result<MailboxInfo> MailboxDrop::describe(MailboxInfo info) {
  info.serving = serving_;
  info.limits = limits_;
  if (!serving_) return info;
  SOTTO_ASSIGN_OR_RETURN(auto users,
                         storage::MailboxStore(AccountInternals::db(account_)).all_stats());
  for (const auto& u : users) {
    MailboxUser user;
    user.fingerprint = u.fingerprint;
    user.name = contacts_.is_contact(u.fingerprint) ? contacts_.name_of(u.fingerprint) : "";
    user.held = u.held;
    user.held_bytes = u.held_bytes;
    user.senders = u.senders;
    info.users.push_back(std::move(user));
  }
  return info;
}

}  // namespace sotto::core
