#include "src/core/mailbox_client.h"

#include <algorithm>

#include "sotto/base/display_text.h"
#include "sotto/core/node.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/expiry_repo.h"
#include "sotto/storage/mailbox_repo.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/outbox_repo.h"
#include "src/core/account_internals.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/net/content.h"
#include "src/net/hello.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

constexpr int64_t kSendersCheckMs = 2000;
constexpr int64_t kDepositCheckMs = 500;
// No receipt for a window this long: it goes again (the mailbox holds each frame once).
constexpr int64_t kDepositRetryMs = 10'000;
constexpr int64_t kOverQuotaPauseMs = 60'000;
constexpr int64_t kRefusedPauseMs = 300'000;
constexpr int64_t kWantedRetryMs = 1000;
constexpr size_t kMaxSenders = 4096;
constexpr size_t kMaxReceiptIds = 1024;
constexpr size_t kMaxEndpointBytes = 64;
constexpr size_t kIdentityKeySize = 33;
constexpr size_t kTransportKeySize = 32;
constexpr size_t kMaxReasonBytes = 200;

// A mailbox from a contact's record is dialled by unicast beacon: only at an address of a
// private network (or this host), so a record cannot make us send anything off the LAN.
bool is_lan_host(const std::string& host) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(host.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4) return false;
  return a == 10 || a == 127 || (a == 172 && b >= 16 && b <= 31) || (a == 192 && b == 168) ||
         (a == 169 && b == 254) || (a == 100 && b >= 64 && b <= 127);
}

bool is_fingerprint(const std::string& text) {
  return text.size() == 64 && from_hex(text).has_value();
}

std::optional<Bytes> frame_of(wire::Envelope envelope) {
  auto frame = net::encode_frame(std::move(envelope));
  if (!frame.is_ok()) return std::nullopt;
  return std::move(frame).value();
}

}  // namespace

MailboxClient::MailboxClient(Account& account, const Clock& clock, const MessengerHooks& hooks,
                             MessageLedger& ledger, ContactBook& contacts)
    : account_(account), clock_(clock), hooks_(hooks), ledger_(ledger), contacts_(contacts) {}

Status MailboxClient::start() {
  storage::MailboxRecords records(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto own, records.own());
  if (own) {
    wire::MailboxRecord record;
    if (record.ParseFromArray(own->record.data(), static_cast<int>(own->record.size()))) {
      own_record_ = record;
      if (!record.mailbox_key().empty()) {
        own_mailbox_ = crypto::fingerprint_of(bytes_of(record.mailbox_key()));
      }
      reach(record);
    }
  }
  SOTTO_ASSIGN_OR_RETURN(auto contacts, contacts_.records());
  for (const auto& contact : contacts) {
    SOTTO_ASSIGN_OR_RETURN(auto row, records.of_contact(contact.fingerprint));
    wire::MailboxRecord record;
    if (row && record.ParseFromArray(row->record.data(), static_cast<int>(row->record.size()))) {
      reach(record);
    }
  }
  return Status::ok();
}

// --- as a user ----------------------------------------------------------------------------------

Result<PeerInfo> MailboxClient::resolve(const std::string& node) {
  std::optional<PeerInfo> peer;
  auto contact = contacts_.resolve(node);
  if (contact.is_ok()) {
    peer = hooks_.peer(contact.value().fingerprint);
  } else {
    // A node that is not a contact: by the name its Hello gave (or its digest of the name
    // typed), or by a fingerprint prefix.
    const Bytes digest = net::name_digest(account_.transport_public(), node);
    std::vector<PeerInfo> matches;
    for (PeerInfo& p : hooks_.peers()) {
      if (p.name == node || p.name_digest == digest ||
          (node.size() >= 8 && p.fingerprint.rfind(node, 0) == 0)) {
        matches.push_back(std::move(p));
      }
    }
    if (matches.empty()) {
      return Status::invalid_argument("no node '" + node + "' nearby (see sotto peers)");
    }
    if (matches.size() > 1) {
      return Status::invalid_argument("'" + node +
                                      "' matches several nodes; use a fingerprint prefix");
    }
    peer = std::move(matches.front());
  }
  if (!is_online(peer)) {
    return Status::unavailable(node + " is not online; a mailbox is chosen while it is");
  }
  if (peer->fingerprint == account_.fingerprint()) {
    return Status::invalid_argument("a node cannot be its own mailbox");
  }
  return *peer;
}

void MailboxClient::use(const std::string& node, UseDone done) {
  if (pending_) return done(Status::busy("another mailbox change is under way"));
  if (node.empty()) {
    if (!own_mailbox_.empty()) send_register(own_mailbox_, true);
    return done(publish(std::nullopt));
  }
  auto peer = resolve(node);
  if (!peer.is_ok()) return done(peer.status());
  pending_ = PendingUse{std::move(peer).value(), clock_.now_ms() + kUseTimeoutMs, std::move(done)};
  send_register(pending_->peer.fingerprint, false);
}

std::vector<std::string> MailboxClient::allowed_senders() {
  std::vector<std::string> out;
  auto contacts = contacts_.records();
  if (!contacts.is_ok()) return out;
  for (const auto& c : contacts.value()) {
    if (out.size() == kMaxSenders) break;
    out.push_back(c.fingerprint);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void MailboxClient::send_register(const std::string& mailbox, bool leave) {
  wire::Envelope envelope;
  auto* reg = envelope.mutable_mailbox_register();
  reg->set_leave(leave);
  std::vector<std::string> senders = leave ? std::vector<std::string>{} : allowed_senders();
  for (const std::string& s : senders) {
    const auto raw = from_hex(s);
    if (raw) reg->add_senders(as_chars(*raw).data(), raw->size());
  }
  auto frame = frame_of(std::move(envelope));
  if (frame && hooks_.send_frame(mailbox, *frame) && !leave) registered_senders_ = senders;
}

void MailboxClient::on_state(const std::string& from, const wire::MailboxState& state) {
  const bool accepted = state.kind() == wire::MailboxState::ACCEPTED;
  const std::string reason =
      display_text(state.reason().substr(0, std::min(state.reason().size(), kMaxReasonBytes)));
  if (pending_ && from == pending_->peer.fingerprint) {
    if (state.kind() == wire::MailboxState::LEFT) return;  // our leave, from a former choice
    if (!accepted) {
      return finish_use(Status::permission_denied("that node does not take us as a mailbox user" +
                                                  (reason.empty() ? "" : ": " + reason)));
    }
    const std::string old = own_mailbox_;
    if (!old.empty() && old != from) send_register(old, true);
    last_state_ = state;
    const PeerInfo peer = pending_->peer;
    return finish_use(publish(peer));
  }
  if (!is_own_mailbox(from)) {
    hooks_.count(Counter::mailbox_receipt_refused, 1);
    return;
  }
  if (state.kind() == wire::MailboxState::LEFT) return;
  const bool was_refused = last_state_ && last_state_->kind() == wire::MailboxState::REFUSED;
  last_state_ = state;
  if (!accepted && !was_refused) {
    hooks_.publish(Event{clock_.wall_ms(), AlertEvent{AlertKind::kMailboxRefused,
                                                      "your mailbox " + contacts_.name_of(from) +
                                                          " no longer takes your mail" +
                                                          (reason.empty() ? "" : ": " + reason)}});
  }
}

void MailboxClient::finish_use(Result<MailboxInfo> result) {
  PendingUse pending = std::move(*pending_);
  pending_.reset();
  pending.done(std::move(result));
}

Result<MailboxInfo> MailboxClient::publish(const std::optional<PeerInfo>& peer) {
  storage::MailboxRecords records(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto own, records.own());
  wire::MailboxRecord record;
  const Bytes& user_key = account_.identity_key();
  record.set_user_key(as_chars(user_key).data(), user_key.size());
  if (peer) {
    record.set_mailbox_key(as_chars(peer->identity_key).data(), peer->identity_key.size());
    record.set_mailbox_transport(as_chars(peer->transport_key).data(), peer->transport_key.size());
    record.set_endpoint(peer->endpoint);
  }
  record.set_serial(static_cast<uint64_t>(own ? own->serial + 1 : 1));
  SOTTO_ASSIGN_OR_RETURN(Bytes signature, AccountInternals::signal(account_).sign(
                                              net::mailbox_record_signing_input(record)));
  record.set_signature(as_chars(signature).data(), signature.size());
  const std::string serialized = record.SerializeAsString();
  SOTTO_RETURN_IF_ERROR(ledger_.in_transaction([&](Effects&) {
    return records.set_own(static_cast<int64_t>(record.serial()), as_bytes(serialized));
  }));
  own_record_ = record;
  own_mailbox_ = peer ? peer->fingerprint : std::string();
  if (!peer) last_state_.reset();
  announced_.clear();
  SOTTO_ASSIGN_OR_RETURN(auto contacts, contacts_.records());
  for (const auto& c : contacts) {
    if (is_online(hooks_.peer(c.fingerprint))) announce_to(c.fingerprint);
  }
  return info();
}

void MailboxClient::announce_to(const std::string& contact) {
  if (!own_record_) return;
  wire::Envelope envelope;
  *envelope.mutable_mailbox_record() = *own_record_;
  auto frame = frame_of(std::move(envelope));
  if (frame && hooks_.send_frame(contact, *frame)) announced_.insert(contact);
}

void MailboxClient::on_bundle_request(const std::string& fingerprint) {
  if (contacts_.is_contact(fingerprint)) announce_to(fingerprint);
}

Result<MailboxInfo> MailboxClient::info() {
  MailboxInfo info;
  if (own_mailbox_.empty()) return info;
  info.mailbox = own_mailbox_;
  const std::optional<PeerInfo> peer = hooks_.peer(own_mailbox_);
  info.online = is_online(peer);
  info.name = contacts_.is_contact(own_mailbox_) ? contacts_.name_of(own_mailbox_)
              : peer                             ? peer->name
                                                 : std::string();
  if (own_record_) info.endpoint = own_record_->endpoint();
  info.state = "waiting";
  if (last_state_) {
    const bool accepted = last_state_->kind() == wire::MailboxState::ACCEPTED;
    info.state = accepted ? "accepted" : "refused";
    info.reason = display_text(
        last_state_->reason().substr(0, std::min(last_state_->reason().size(), kMaxReasonBytes)));
    info.held = static_cast<int64_t>(last_state_->held());
    info.quota_bytes = static_cast<int64_t>(last_state_->quota_bytes());
  }
  return info;
}

void MailboxClient::on_peer_online(const std::string& fingerprint) {
  if (is_own_mailbox(fingerprint)) send_register(fingerprint, false);
  if (contacts_.is_contact(fingerprint)) announce_to(fingerprint);
  auto serves =
      storage::MailboxRecords(AccountInternals::db(account_)).is_contacts_mailbox(fingerprint);
  if (serves.is_ok() && serves.value()) deposits_checked_ms_ = 0;  // deposit at the next tick
}

bool MailboxClient::has_business_with(const std::string& fingerprint) {
  if (is_own_mailbox(fingerprint)) return true;
  auto serves =
      storage::MailboxRecords(AccountInternals::db(account_)).is_contacts_mailbox(fingerprint);
  return serves.is_ok() && serves.value();
}

void MailboxClient::on_timer() {
  const int64_t now = clock_.now_ms();
  if (pending_ && now >= pending_->deadline_ms) {
    finish_use(Status::unavailable(
        "that node did not answer as a mailbox (is it running `sotto daemon --mailbox`?)"));
  }
  // The setting names a mailbox and we use none yet: as soon as it is online (the check is a
  // walk of the peer table, so once a second, and not at all once we use one).
  if (!wanted_.empty() && own_mailbox_.empty() && !pending_ &&
      now - wanted_tried_ms_ >= kWantedRetryMs) {
    wanted_tried_ms_ = now;
    if (resolve(wanted_).is_ok()) use(wanted_, [](const Result<MailboxInfo>&) {});
  }
  if (own_record_ && now - senders_checked_ms_ >= kSendersCheckMs) {
    senders_checked_ms_ = now;
    check_contacts();
  }
  if (now - deposits_checked_ms_ >= kDepositCheckMs) {
    deposits_checked_ms_ = now;
    deposit_all();
  }
}

void MailboxClient::check_contacts() {
  // A contact made since we named our mailbox: it learns the record.
  auto contacts = contacts_.records();
  if (!contacts.is_ok()) return;
  for (const auto& c : contacts.value()) {
    if (announced_.count(c.fingerprint) == 0 && is_online(hooks_.peer(c.fingerprint))) {
      announce_to(c.fingerprint);
    }
  }
  // A contact added or gone since we registered: the mailbox learns whose deposits to take.
  if (!own_mailbox_.empty() && allowed_senders() != registered_senders_ &&
      is_online(hooks_.peer(own_mailbox_))) {
    send_register(own_mailbox_, false);
  }
}

// --- as a sender ---------------------------------------------------------------------------------

Status MailboxClient::on_record(const std::string& from, const wire::MailboxRecord& record) {
  auto refuse = [this] {
    hooks_.count(Counter::mailbox_record_refused, 1);
    return Status::ok();
  };
  if (!contacts_.is_contact(from)) return refuse();
  const bool has_mailbox = !record.mailbox_key().empty();
  if (record.user_key().size() != kIdentityKeySize ||
      crypto::fingerprint_of(bytes_of(record.user_key())) != from ||
      (has_mailbox && (record.mailbox_key().size() != kIdentityKeySize ||
                       record.mailbox_transport().size() != kTransportKeySize)) ||
      (!has_mailbox && !record.mailbox_transport().empty()) ||
      record.endpoint().size() > kMaxEndpointBytes || record.serial() == 0 ||
      record.serial() > static_cast<uint64_t>(INT64_MAX)) {
    return refuse();
  }
  if (!record.endpoint().empty()) {
    auto spec = PeerSpec::parse(record.endpoint());
    if (!spec.is_ok() || spec.value().pinned_key || !is_lan_host(spec.value().host)) {
      return refuse();
    }
  }
  if (!crypto::SignalEngine::verify(bytes_of(record.user_key()),
                                    net::mailbox_record_signing_input(record),
                                    bytes_of(record.signature()))) {
    return refuse();
  }
  const std::string mailbox =
      has_mailbox ? crypto::fingerprint_of(bytes_of(record.mailbox_key())) : std::string();
  storage::MailboxRecords records(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto before, records.of_contact(from));
  const std::string serialized = record.SerializeAsString();
  SOTTO_ASSIGN_OR_RETURN(
      bool kept, records.set_for_contact(from, mailbox, static_cast<int64_t>(record.serial()),
                                         as_bytes(serialized)));
  if (!kept) return Status::ok();  // an older or repeated record
  hooks_.count(Counter::mailbox_records_received, 1);
  if (before && before->mailbox != mailbox) {
    // The new mailbox holds none of what the old one did: those frames are deposited again.
    SOTTO_RETURN_IF_ERROR(records.clear_at_mailbox(from));
    deposits_.erase(from);
  }
  reach(record);
  return Status::ok();
}

void MailboxClient::reach(const wire::MailboxRecord& record) {
  if (!hooks_.reach || record.endpoint().empty() ||
      record.mailbox_transport().size() != kTransportKeySize) {
    return;
  }
  hooks_.reach(record.endpoint(), bytes_of(record.mailbox_transport()));
}

Status MailboxClient::on_receipt(const std::string& from, const wire::MailboxReceipt& receipt,
                                 std::vector<Event>& events) {
  const std::string& recipient = receipt.recipient();
  storage::Database& db = AccountInternals::db(account_);
  storage::MailboxRecords records(db);
  if (!is_fingerprint(recipient) || receipt.ids_size() > static_cast<int>(kMaxReceiptIds)) {
    hooks_.count(Counter::mailbox_receipt_refused, 1);
    return Status::ok();
  }
  SOTTO_ASSIGN_OR_RETURN(auto record, records.of_contact(recipient));
  if (!record || record->mailbox != from) {
    hooks_.count(Counter::mailbox_receipt_refused, 1);
    return Status::ok();
  }
  Deposits& deposits = deposits_[recipient];
  storage::MessageRepo messages(db);
  const int64_t now = clock_.now_ms();
  int64_t affected = 0;
  for (const auto& id : receipt.ids()) {
    const Bytes message_id(id.begin(), id.end());
    deposits.outstanding.erase(message_id);
    if (message_id.size() != net::kMessageIdSize) continue;
    SOTTO_ASSIGN_OR_RETURN(auto row, messages.find_row(account_.fingerprint(), message_id));
    if (!row) continue;  // delivered meanwhile, or expired here too
    const bool held = receipt.kind() == wire::MailboxReceipt::HELD;
    const bool expired = receipt.kind() == wire::MailboxReceipt::EXPIRED;
    if (!held && !expired) {
      ++affected;
      continue;
    }
    SOTTO_ASSIGN_OR_RETURN(bool changed, records.set_at_mailbox(*row, recipient, held));
    if (!changed) continue;
    ++affected;
    if (!held) continue;
    hooks_.count(Counter::mailbox_deposits_held, 1);
    SOTTO_ASSIGN_OR_RETURN(auto message, messages.get(*row));
    if (message && message->kind == storage::MessageKind::kText &&
        (message->state == storage::MessageState::kPending ||
         message->state == storage::MessageState::kSent)) {
      SOTTO_RETURN_IF_ERROR(messages.set_state(*row, storage::MessageState::kAtMailbox));
      events.push_back(Event{
          clock_.wall_ms(), ReceiptEvent{recipient, to_hex(message_id), MessageState::kAtMailbox}});
    }
  }
  const std::string name = contacts_.name_of(recipient);
  auto alert = [&](AlertKind kind, const std::string& text) {
    events.push_back(Event{clock_.wall_ms(), AlertEvent{kind, text}});
  };
  // Deposits to this recipient stop for a while; the user hears of it once per pause.
  auto pause = [&](AlertKind kind, const std::string& what, int64_t pause_ms) {
    if (deposits.paused_until_ms <= now) {
      alert(kind, name + what + " in your outbox until " + name + " is back");
    }
    deposits.paused_until_ms = now + pause_ms;
    deposits.outstanding.clear();
  };
  switch (receipt.kind()) {
    case wire::MailboxReceipt::OVER_QUOTA:
      hooks_.count(Counter::mailbox_deposits_over_quota, static_cast<uint64_t>(receipt.ids_size()));
      pause(AlertKind::kMailboxFull, "'s mailbox is full: your messages wait", kOverQuotaPauseMs);
      break;
    case wire::MailboxReceipt::REFUSED:
      pause(AlertKind::kMailboxRefused, "'s mailbox refused your messages: they wait",
            kRefusedPauseMs);
      break;
    case wire::MailboxReceipt::EXPIRED:
      if (affected > 0) {
        alert(AlertKind::kMailboxExpired,
              name + "'s mailbox dropped " + std::to_string(affected) +
                  " of your messages unfetched (their time ran out); what has not expired here "
                  "waits in your outbox");
      }
      break;
    default:
      break;
  }
  return Status::ok();
}

void MailboxClient::deposit_all() {
  auto recipients = storage::OutboxRepo(AccountInternals::db(account_)).recipients();
  if (!recipients.is_ok()) return;
  storage::MailboxRecords records(AccountInternals::db(account_));
  for (const std::string& recipient : recipients.value()) {
    if (is_online(hooks_.peer(recipient))) {
      deposits_.erase(recipient);  // the outbox hands its frames over itself
      continue;
    }
    auto record = records.of_contact(recipient);
    if (!record.is_ok() || !record.value() || record.value()->mailbox.empty()) continue;
    const std::string& mailbox = record.value()->mailbox;
    if (is_online(hooks_.peer(mailbox))) deposit_for(recipient, mailbox);
  }
}

void MailboxClient::deposit_for(const std::string& recipient, const std::string& mailbox) {
  Deposits& deposits = deposits_[recipient];
  const int64_t now = clock_.now_ms();
  if (now < deposits.paused_until_ms) return;
  if (!deposits.outstanding.empty() && now - deposits.sent_ms < kDepositRetryMs) return;
  deposits.outstanding.clear();
  auto rows = storage::MailboxRecords(AccountInternals::db(account_))
                  .undeposited(recipient, 0, kDepositWindow);
  if (!rows.is_ok()) return;
  for (const auto& row : rows.value()) {
    auto padded = net::frame_with_padding(row.frame);
    if (!padded.is_ok()) continue;
    auto stored = net::decode_frame(padded.value());
    if (!stored.is_ok() || !stored.value().has_signal()) continue;
    wire::Envelope envelope;
    auto* deposit = envelope.mutable_mailbox_deposit();
    deposit->set_recipient(recipient);
    *deposit->mutable_message() = stored.value().signal();
    const std::optional<uint64_t> expires_in = expires_in_ms(recipient, row.message_row);
    if (!expires_in) continue;
    deposit->set_expires_in_ms(*expires_in);
    const std::string& id = stored.value().signal().message_id();
    auto frame = frame_of(std::move(envelope));
    if (!frame || !hooks_.send_frame(mailbox, *frame)) break;
    hooks_.count(Counter::mailbox_deposits_sent, 1);
    deposits.outstanding.insert(Bytes(id.begin(), id.end()));
  }
  deposits.sent_ms = now;
}

std::optional<uint64_t> MailboxClient::expires_in_ms(const std::string& recipient,
                                                     int64_t message_row) {
  storage::Database& db = AccountInternals::db(account_);
  auto setting = storage::ExpiryRepo(db).get(recipient);
  if (!setting.is_ok() || !setting.value() || setting.value()->expire_ms <= 0) return 0;
  auto message = storage::MessageRepo(db).get(message_row);
  // Control rows do not expire here (they make delivery exactly-once), so not there either.
  if (!message.is_ok() || !message.value() ||
      message.value()->kind == storage::MessageKind::kControl) {
    return 0;
  }
  const int64_t left = setting.value()->expire_ms - (clock_.wall_ms() - message.value()->sent_at);
  if (left <= 0) return std::nullopt;
  return static_cast<uint64_t>(left);
}

}  // namespace sotto::core
