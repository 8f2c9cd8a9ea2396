#include "src/core/messenger.h"

#include "sotto/storage/channel_copy_repo.h"
#include "src/core/account_internals.h"

#include <algorithm>
#include <map>

#include "sotto/storage/outbox_repo.h"
#include "sotto/storage/search_repo.h"
#include "src/core/messenger_internal.h"
#include "src/core/relaxed_sync.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

// At most this many queued texts per send transaction: a long queue goes out in slices, so the
// peer decrypts one while we encrypt the next, and receipts are taken in between.
constexpr size_t kSendBatch = 256;
constexpr int64_t kQuietMs = 20;
// A log this long is copied when quiet (1 MiB with our 1 KiB pages); a shorter one waits, as
// each copy costs the database file an fsync.
constexpr int64_t kQuietCheckpointFrames = 1024;

OutboxFlowOptions flow_options(const MessengerOptions& options) {
  return {options.retry_initial_ms, options.retry_max_ms, options.retry_window};
}

}  // namespace

Messenger::Messenger(Account& account, const Clock& clock, MessengerOptions options,
                     MessengerHooks hooks)
    : account_(account),
      clock_(clock),
      options_(options),
      hooks_(std::move(hooks)),
      contacts_(account_, clock_, options_, hooks_),
      outbox_(AccountInternals::db(account_), clock_, flow_options(options_), hooks_),
      ledger_(account_, clock_, options_, hooks_, contacts_, outbox_),
      keys_(account_, hooks_, contacts_, ledger_),
      channels_(account_, clock_, hooks_, contacts_, ledger_, keys_),
      expiry_(account_, clock_, hooks_, contacts_, ledger_, channels_),
      relay_(account_, clock_, hooks_, ledger_,
             [this](const std::string& fingerprint, bool reconnected) {
               outbox_.on_peer_online(fingerprint, reconnected);
             }),
      clips_(account_, clock_, hooks_, contacts_, ledger_, keys_, channels_, relay_),
      mailboxes_(account_, clock_, hooks_, ledger_, contacts_),
      drop_(account_, clock_, hooks_, contacts_, options_.serve_mailbox, options_.mailbox_limits) {}

Status Messenger::start() {
  // Received messages are acknowledged only once they are on disk for good.
  SOTTO_RETURN_IF_ERROR(
      AccountInternals::db(account_).set_synchronous(storage::Synchronous::kFull));
  SOTTO_RETURN_IF_ERROR(outbox_.start());
  return mailboxes_.start();
}

// --- contacts -----------------------------------------------------------------------------------

Result<std::vector<ContactInfo>> Messenger::contacts() {
  return contacts_.list();
}

void Messenger::add_contact(const std::string& peer_query, const std::string& name, AddDone done) {
  contacts_.look_up_and_add(peer_query, name, std::move(done));
}

void Messenger::on_peer_changed(const std::string& fingerprint) {
  contacts_.on_peer_changed(fingerprint);
}

Result<std::string> Messenger::safety_number(const std::string& to) {
  return contacts_.safety_number(to);
}

void Messenger::confirm_contact(const std::string& to, AddDone done) {
  contacts_.confirm(to, std::move(done));
}

Result<ContactInfo> Messenger::replace_contact(const std::string& old_contact,
                                               const std::string& new_contact) {
  return contacts_.replace(old_contact, new_contact);
}

bool Messenger::knows(const std::string& fingerprint) {
  // Our mailbox and, serving as one, our users: a window of frames and their "taken" each
  // way must not meet a stranger's rate limit.
  return contacts_.knows(fingerprint) || mailboxes_.is_own_mailbox(fingerprint) ||
         drop_.serves(fingerprint);
}

bool Messenger::has_business_with(const std::string& fingerprint) {
  if (contacts_.is_contact(fingerprint) || mailboxes_.has_business_with(fingerprint)) return true;
  auto waiting = storage::OutboxRepo(AccountInternals::db(account_)).has_waiting(fingerprint);
  return !waiting.is_ok() || waiting.value();
}

// --- sending ------------------------------------------------------------------------------------

void Messenger::send_text(const std::string& to, const std::string& text, SendDone done) {
  if (text.empty()) return done(Status::invalid_argument("the message is empty"));
  if (text.size() > net::kMaxTextBytes) {
    return done(Status::invalid_argument("the message is longer than 64 KiB"));
  }
  if (!net::is_valid_utf8(text)) {
    return done(Status::invalid_argument("the message is not valid UTF-8"));
  }
  if (!to.empty() && to.front() == '#') {
    auto channel = resolve_channel(to);
    if (!channel.is_ok()) return done(channel.status());
    Status allowed = check_channel_send(channel.value());
    if (!allowed.is_ok()) return done(allowed);
    sends_.push_back({{}, std::move(channel).value(), text, std::move(done)});
    return;
  }
  auto contact = contacts_.resolve(to);
  if (!contact.is_ok()) return done(contact.status());
  auto has_session = AccountInternals::signal(account_).has_session(contact.value().fingerprint);
  if (!has_session.is_ok()) return done(has_session.status());
  if (!has_session.value()) {
    return done(Status::unavailable("no session with " + contact.value().name +
                                    " yet; run: sotto add " + contact.value().name));
  }
  sends_.push_back({std::move(contact).value(), std::nullopt, text, std::move(done)});
}

Status Messenger::commit_one(const QueuedSend& send, Committed& out) {
  if (send.channel) return commit_group_text(send, out);
  const storage::ContactRecord& contact = send.contact;
  storage::MessageRecord message;
  message.conversation = contact.fingerprint;
  message.body = send.text;
  message.sent_at = clock_.wall_ms();
  wire::Content content;
  auto* t = content.mutable_text();
  t->set_sent_at(static_cast<uint64_t>(message.sent_at));
  t->set_body(send.text);
  SOTTO_RETURN_IF_ERROR(
      ledger_.commit_signal(contact.fingerprint, message, std::move(content), out.out));
  out.info = message_info(message, account_.name(), trust_of(contact.trust), "");
  return Status::ok();
}

void Messenger::flush_sends() {
  if (sends_.empty()) return;
  const size_t take = std::min<size_t>(sends_.size(), kSendBatch);
  std::vector<QueuedSend> sends(std::make_move_iterator(sends_.begin()),
                                std::make_move_iterator(sends_.begin() + take));
  sends_.erase(sends_.begin(), sends_.begin() + take);
  ledger_.commit_sends(std::move(sends), [this](const QueuedSend& send, Committed& out) {
    return commit_one(send, out);
  });
  note_activity();
}

// --- receiving ----------------------------------------------------------------------------------

void Messenger::on_envelope(const std::string& fingerprint, const wire::Envelope& envelope) {
  switch (envelope.body_case()) {
    case wire::Envelope::kSignal:
    case wire::Envelope::kReceipt:
    case wire::Envelope::kGroup:
    case wire::Envelope::kSync:
    case wire::Envelope::kRelayedKey:
    case wire::Envelope::kMailboxRecord:
    case wire::Envelope::kMailboxRegister:
    case wire::Envelope::kMailboxDeposit:
    case wire::Envelope::kMailboxReceipt:
    case wire::Envelope::kForwarded:
    case wire::Envelope::kMailboxTaken:
      batch_.push_back({fingerprint, envelope});
      break;
    case wire::Envelope::kMailboxState:
      mailboxes_.on_state(fingerprint, envelope.mailbox_state());
      break;
    case wire::Envelope::kBundleRequest:
      contacts_.on_bundle_request(fingerprint, envelope.bundle_request());
      mailboxes_.on_bundle_request(fingerprint);
      break;
    case wire::Envelope::kBundle:
      contacts_.on_bundle(fingerprint, envelope.bundle());
      break;
    default:
      hooks_.count(Counter::frame_unhandled, 1);
      break;
  }
}

void Messenger::on_peer_online(const std::string& fingerprint, bool reconnected) {
  auto waiting = storage::OutboxRepo(AccountInternals::db(account_)).has_waiting(fingerprint);
  const bool outbox_waiting = waiting.is_ok() && waiting.value();
  keys_.share_soon();  // a fellow member without a session or our key may get them now
  // A co-member's marks come first: the outbox then sends only what it still lacks.
  mailboxes_.on_peer_online(fingerprint);
  drop_.on_peer_online(fingerprint);
  if (relay_.on_peer_online(fingerprint, reconnected, outbox_waiting)) return;
  outbox_.on_peer_online(fingerprint, reconnected);
}

void Messenger::after_poll() {
  if (batch_.empty()) {
    // Copies a co-member asked for beyond what one round hands over.
    if (relay_.pending()) relay_.after_commit();
    return;
  }
  std::vector<Received> batch;
  batch.swap(batch_);
  auto receive = [this](const Received& item, Effects& effects) {
    return receive_one(item, effects);
  };
  {
    // The batch's channel signatures are checked on the second core meanwhile (verify_ahead.h).
    const crypto::VerifyAhead::Scope ahead = verify_ahead_.begin(signature_checks(batch));
    ledger_.receive_batch(batch, receive);
  }
  const crypto::VerifyAhead::Stats ahead = verify_ahead_.take_stats();
  hooks_.count(Counter::signatures_checked_ahead, ahead.taken);
  hooks_.count(Counter::signatures_checked_in_turn, ahead.computed);
  // Keys applied in that batch open what overtook them; once, so nothing loops.
  std::vector<Received> unlocked = key_waits_.take_due();
  if (!unlocked.empty()) ledger_.receive_batch(unlocked, receive);
  note_activity();
  relay_.after_commit();
  drop_.after_commit();
  for (const auto& [mailbox, handle] : std::exchange(unreadable_, {})) {
    wire::Envelope envelope;
    envelope.mutable_mailbox_taken()->add_handles(handle);
    auto frame = net::encode_frame(std::move(envelope));
    if (frame.is_ok()) hooks_.send_frame(mailbox, frame.value());
  }
}

Status Messenger::receive_one(const Received& item, Effects& effects) {
  switch (item.envelope.body_case()) {
    case wire::Envelope::kReceipt:
      return ledger_.apply_receipt(item.from, item.envelope.receipt(), effects.events);
    case wire::Envelope::kGroup:
      return receive_group(item, effects);
    case wire::Envelope::kSync:
      return relay_.on_sync(item.from, item.envelope.sync(), effects);
    case wire::Envelope::kRelayedKey:
      return receive_relayed_key(item);
    case wire::Envelope::kMailboxRecord:
      return mailboxes_.on_record(item.from, item.envelope.mailbox_record());
    case wire::Envelope::kMailboxReceipt:
      return mailboxes_.on_receipt(item.from, item.envelope.mailbox_receipt(), effects.events);
    case wire::Envelope::kMailboxRegister:
      return drop_.on_register(item.from, item.envelope.mailbox_register(), effects);
    case wire::Envelope::kMailboxDeposit:
      return drop_.on_deposit(item.from, item.envelope.mailbox_deposit(), effects);
    case wire::Envelope::kMailboxTaken:
      return drop_.on_taken(item.from, item.envelope.mailbox_taken());
    case wire::Envelope::kForwarded:
      return receive_forwarded(item, effects);
    default:
      return ledger_.receive_direct(
          item, effects, [this](const std::string& from, const wire::Content& content, Effects& e) {
            return apply_control(from, content, e);
          });
  }
}

Status Messenger::apply_control(const std::string& from, const wire::Content& content,
                                Effects& effects) {
  switch (content.body_case()) {
    case wire::Content::kChannelUpdate:
      return channels_.apply_update(from, content.channel_update(), effects);
    case wire::Content::kSenderKey: {
      bool stored = false;
      SOTTO_RETURN_IF_ERROR(keys_.apply(from, content.sender_key(), stored));
      if (!stored) return Status::ok();
      const wire::SenderKey& key = content.sender_key();
      SOTTO_RETURN_IF_ERROR(
          relay_.on_sender_key(bytes_of(key.channel_id()), from, key.seq(), key.joined()));
      key_waits_.key_applied(from, key.channel_id());
      return Status::ok();
    }
    case wire::Content::kChannelLeave:
      return channels_.apply_leave(from, content.channel_leave(), effects);
    case wire::Content::kExpiry:
      return expiry_.apply(from, content.expiry(), effects);
    default:
      return Status::ok();  // MessageLedger hands over only the kinds above
  }
}

Status Messenger::receive_forwarded(const Received& item, Effects& effects) {
  const wire::Forwarded& forwarded = item.envelope.forwarded();
  if (!mailboxes_.is_own_mailbox(item.from)) {
    hooks_.count(Counter::mailbox_forward_refused, 1);
    return Status::ok();
  }
  auto taken = [&] {
    wire::Envelope envelope;
    envelope.mutable_mailbox_taken()->add_handles(forwarded.handle());
    auto frame = net::encode_frame(std::move(envelope));
    if (frame.is_ok()) effects.live.emplace_back(item.from, std::move(frame).value());
  };
  const bool from_valid = forwarded.from().size() == 64 && from_hex(forwarded.from()).has_value() &&
                          forwarded.from() != account_.fingerprint();
  if (!from_valid) {
    hooks_.count(Counter::mailbox_dropped_malformed, 1);
    taken();
    return Status::ok();
  }
  // The frame as its sender stored it: it opens only under the sender's own session with us,
  // so the mailbox can neither forge one nor pass one off as someone else's.
  Received inner{forwarded.from(), {}};
  *inner.envelope.mutable_signal() = forwarded.message();
  Status received = ledger_.receive_direct(
      inner, effects, [this](const std::string& from, const wire::Content& content, Effects& e) {
        return apply_control(from, content, e);
      });
  if (received.is_ok()) {
    hooks_.count(Counter::mailbox_forwards_received, 1);
    taken();
    return received;
  }
  // What may open later (a key still to come, a disk to free) stays at the mailbox. Anything
  // else never will (forged, or not from whom the mailbox says; an identity we do not trust
  // resends from its own outbox once trusted): the mailbox drops it.
  const StatusCode code = received.code();
  if (code != StatusCode::kUnavailable && code != StatusCode::kStorageFull &&
      code != StatusCode::kIoError && code != StatusCode::kBusy && code != StatusCode::kInternal) {
    hooks_.count(Counter::mailbox_forward_unreadable, 1);
    unreadable_.emplace_back(item.from, forwarded.handle());
  }
  return received;
}

// --- mailboxes ----------------------------------------------------------------------------------

void Messenger::use_mailbox(const std::string& node, MailboxClient::UseDone done) {
  mailboxes_.want("");  // the user's choice now, over the setting's
  mailboxes_.use(node, std::move(done));
}

Result<MailboxInfo> Messenger::mailbox() {
  SOTTO_ASSIGN_OR_RETURN(MailboxInfo info, mailboxes_.info());
  return drop_.describe(std::move(info));
}

// --- disappearing messages --------------------------------------------------------------------

Result<MessageInfo> Messenger::set_expiry(const std::string& to, int64_t expire_ms) {
  return expiry_.set(to, expire_ms);
}

// --- timers and housekeeping --------------------------------------------------------------------

void Messenger::on_stop() {
  flush_sends();
  mailboxes_.on_stop();
  contacts_.abandon_adds();
}

void Messenger::on_timer(bool on_air) {
  const int64_t now = clock_.now_ms();
  contacts_.expire_adds();
  outbox_.mark_sent_if_due();
  expiry_.expire_if_due(now, on_air);
  if (size_t expired = key_waits_.expire(now)) hooks_.count(Counter::group_hold_expired, expired);
  channel_upkeep(on_air);
  relay_.on_timer();
  mailboxes_.on_timer();
  drop_.on_timer();
  outbox_.resend_due();
}

void Messenger::note_activity() {
  last_activity_ms_ = clock_.now_ms();
  index_due_ = true;
}

std::optional<int64_t> Messenger::tidy_at_ms() const {
  // Busy: tidy_when_quiet would not run, and a time already past would make the loop spin for
  // as long as a flow stays blocked; busy() brings the loop back soon anyway.
  if (busy()) return std::nullopt;
  if (!index_due_ && !expiry_.checkpoint_due() &&
      AccountInternals::db(account_).wal_frames() < kQuietCheckpointFrames)
    return std::nullopt;
  return last_activity_ms_ + kQuietMs;
}

void Messenger::tidy_when_quiet() {
  if (busy() || clock_.now_ms() - last_activity_ms_ < kQuietMs) return;
  storage::Database& db = AccountInternals::db(account_);
  if (std::exchange(index_due_, false)) {
    // Lost in a power cut, the index is caught up again: its watermark is in the same commit.
    RelaxedSync relaxed(db, true);
    (void)storage::SearchRepo(db).catch_up();
  }
  if (expiry_.take_checkpoint_due()) {
    if (!db.checkpoint().is_ok()) hooks_.count(Counter::checkpoint_failed, 1);
  } else {
    (void)db.checkpoint_if_grown(kQuietCheckpointFrames);
  }
}

bool Messenger::has_queued_work() const {
  return !batch_.empty() || !sends_.empty() || relay_.pending();
}

bool Messenger::busy() const {
  return has_queued_work() || outbox_.blocked();
}

uint64_t Messenger::outbox_waiting() {
  return outbox_.waiting();
}

// --- reading ------------------------------------------------------------------------------------

// How a TO names a conversation, and how archive rows are shown (names, channels, trust), for
// history, search and export (src/core/archive.h).
Result<std::string> Messenger::conversation_key(const std::string& to) {
  if (to.empty()) return std::string();
  if (to.front() == '#') {
    SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(to));
    return conversation_of(channel);
  }
  SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord contact, contacts_.resolve(to));
  return contact.fingerprint;
}

Result<std::vector<MessageInfo>> Messenger::describe(
    const std::vector<storage::MessageRecord>& rows, std::vector<std::string>* labels) {
  // Who is who, read once per call: contacts first, then channel members we have no contact for.
  std::map<std::string, std::pair<std::string, Trust>> people;
  SOTTO_ASSIGN_OR_RETURN(auto contacts, contacts_.records());
  for (const auto& c : contacts) people[c.fingerprint] = {c.name, trust_of(c.trust)};
  std::map<std::string, std::string> channel_names;  // conversation -> name
  storage::ChannelRepo channel_repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto channels, channel_repo.list());
  for (const auto& c : channels) {
    channel_names[conversation_of(c)] = c.name;
    SOTTO_ASSIGN_OR_RETURN(auto members, channel_repo.members(c.id));
    for (const auto& m : members) {
      if (people.count(m.fingerprint) == 0) people[m.fingerprint] = {m.name, Trust::kUnverified};
    }
  }
  auto name_or_prefix = [&](const std::string& fingerprint) {
    auto it = people.find(fingerprint);
    return it != people.end() && !it->second.first.empty() ? it->second.first
                                                           : fingerprint.substr(0, 16);
  };
  std::vector<MessageInfo> out;
  out.reserve(rows.size());
  if (labels != nullptr) labels->clear();
  for (const auto& r : rows) {
    auto channel = channel_names.find(r.conversation);
    const bool in_channel = channel != channel_names.end();
    const std::string sender_name = r.outgoing ? account_.name() : name_or_prefix(r.sender);
    const auto who = people.find(in_channel ? r.sender : r.conversation);
    const Trust trust = who != people.end() ? who->second.second : Trust::kUnverified;
    out.push_back(message_info(r, sender_name, trust, in_channel ? channel->second : ""));
    if (in_channel && !r.outgoing) {
      auto relay = storage::ChannelCopyRepo(AccountInternals::db(account_)).relayed_by(r.row_id);
      if (relay.is_ok()) out.back().relayed_by = relay.value();
    }
    if (labels != nullptr) {
      labels->push_back(in_channel ? "#" + channel->second : name_or_prefix(r.conversation));
    }
  }
  return out;
}

Result<std::vector<MessageInfo>> Messenger::history(const std::string& to, int64_t limit) {
  SOTTO_ASSIGN_OR_RETURN(std::string conversation, conversation_key(to));
  SOTTO_ASSIGN_OR_RETURN(
      auto rows, storage::MessageRepo(AccountInternals::db(account_)).recent(conversation, limit));
  return describe(rows, nullptr);
}

}  // namespace sotto::core
