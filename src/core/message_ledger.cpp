#include "src/core/message_ledger.h"
#include "src/core/account_internals.h"

#include <algorithm>
#include <cstdio>

#include "sotto/base/crash_point.h"
#include "sotto/crypto/primitives.h"
#include "sotto/storage/outbox_repo.h"
#include "src/core/messenger.h"
#include "src/core/relaxed_sync.h"
#include "src/net/content.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

// Ids per Receipt: each is an index lookup and a delete, so one frame may not ask for more than
// a few milliseconds of work (a batch's receipts are split to fit).
constexpr int kMaxReceiptIds = 512;

bool is_control(const wire::Content& content) {
  switch (content.body_case()) {
    case wire::Content::kChannelUpdate:
    case wire::Content::kSenderKey:
    case wire::Content::kChannelLeave:
    case wire::Content::kExpiry:
      return true;
    default:
      return false;
  }
}

}  // namespace

MessageLedger::MessageLedger(Account& account, const Clock& clock, const MessengerOptions& options,
                             const MessengerHooks& hooks, ContactBook& contacts, Outbox& outbox)
    : account_(account),
      clock_(clock),
      options_(options),
      hooks_(hooks),
      contacts_(contacts),
      outbox_(outbox) {}

// --- transactions -------------------------------------------------------------------------------

Status MessageLedger::commit_items(size_t count, const BatchSteps& steps) {
  storage::Database& db = AccountInternals::db(account_);
  crypto::HeldSignalState& held = AccountInternals::held_signal(account_);
  for (bool savepoint_each : {false, true}) {
    storage::Transaction tx(db);
    SOTTO_RETURN_IF_ERROR(tx.begin_status());
    held.hold();
    Status status = Status::ok();
    bool run_again = false;
    for (size_t i = 0; i < count && status.is_ok() && !run_again; ++i) {
      run_again = run_item(i, savepoint_each || steps.risky(i), steps, status);
    }
    if (run_again) {
      held.discard();
      hooks_.count(Counter::batch_run_again, 1);
      steps.restart();
      continue;  // the transaction rolls back as it goes out of scope
    }
    if (status.is_ok() && steps.before_commit) steps.before_commit();
    if (status.is_ok()) status = held.release();
    if (status.is_ok()) status = tx.commit();
    held.discard();
    return status;
  }
  return Status::internal("a batch failed twice");  // not reached: the second run never repeats
}

bool MessageLedger::run_item(size_t i, bool savepoint, const BatchSteps& steps, Status& status) {
  storage::Database& db = AccountInternals::db(account_);
  crypto::HeldSignalState& held = AccountInternals::held_signal(account_);
  if (savepoint) {
    status = db.savepoint();
    if (!status.is_ok()) return false;
  }
  const int64_t changes_before = db.changes_kept();
  Status outcome = steps.run(i);
  if (outcome.is_ok()) {
    held.keep_item();
    if (savepoint) status = db.release_savepoint();
    return false;
  }
  held.drop_item();
  steps.undo(i);
  if (savepoint) status = db.rollback_to_savepoint();
  // SQLite ends the whole transaction on some errors (a full disk): nothing more may run
  // outside it, each statement committing on its own.
  if (!db.in_transaction()) status = outcome;
  // The item wrote before it failed, and nothing can undo that alone.
  return status.is_ok() && !savepoint && db.changes_kept() != changes_before;
}

Status MessageLedger::in_savepoint(const std::function<Status()>& body) {
  storage::Database& db = AccountInternals::db(account_);
  SOTTO_RETURN_IF_ERROR(db.savepoint());
  Status status = body();
  Status ended = status.is_ok() ? db.release_savepoint() : db.rollback_to_savepoint();
  return status.is_ok() ? ended : status;
}

Status MessageLedger::in_transaction(const std::function<Status(Effects&)>& body) {
  Effects effects;
  storage::Transaction tx(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(tx.begin_status());
  SOTTO_RETURN_IF_ERROR(body(effects));
  SOTTO_RETURN_IF_ERROR(tx.commit());
  finish(effects);
  return Status::ok();
}

void MessageLedger::finish(Effects& effects) {
  // Committed for good (synchronous=FULL): only now do the receipts go out.
  for (auto& [to, ids] : effects.receipts) {
    for (size_t first = 0; first < ids.size(); first += kMaxReceiptIds) {
      wire::Envelope envelope;
      auto* receipt = envelope.mutable_receipt();
      receipt->set_kind(wire::Receipt::DELIVERED);
      const size_t end = std::min(ids.size(), first + kMaxReceiptIds);
      for (size_t i = first; i < end; ++i) receipt->add_ids(as_chars(ids[i]).data(), ids[i].size());
      auto frame = net::encode_frame(std::move(envelope));
      if (frame.is_ok() && hooks_.send_frame(to, frame.value()))
        hooks_.count(Counter::receipts_sent, 1);
    }
  }
  for (const auto& [to, frame] : effects.live) hooks_.send_frame(to, frame);
  outbox_.transmit(effects.out);
  for (auto& event : effects.events) hooks_.publish(std::move(event));
  if (!effects.out.empty()) frames_out_ = true;
}

void MessageLedger::note_storage(const Status& status) {
  const bool full = status.code() == StatusCode::kStorageFull;
  if (full) hooks_.count(Counter::storage_full_commits, 1);
  if (full == storage_full_ || (!full && !status.is_ok())) return;
  storage_full_ = full;
  AlertEvent alert =
      full ? AlertEvent{AlertKind::kStorageFull,
                        status.message() +
                            "; nothing more is received or sent until space is freed (senders "
                            "keep their messages and retry)"}
           : AlertEvent{AlertKind::kStorageRecovered, "storage available again; delivery resumes"};
  // stderr is the node's log (the daemon's output; the TUI sends it to the profile's tui.log):
  // one line there too, for whoever looks after a headless node.
  std::fprintf(stderr, "sotto: %s\n", alert.message.c_str());
  hooks_.publish(Event{clock_.wall_ms(), std::move(alert)});
}

// --- sending ------------------------------------------------------------------------------------

void MessageLedger::commit_sends(std::vector<QueuedSend> sends, const CommitOne& commit_one) {
  std::vector<Committed> committed(sends.size());
  std::vector<Status> outcomes(sends.size(), Status::internal("not sent"));
  BatchSteps steps;
  // A send is refused before it writes: a 1:1 message encrypts (held) first, a channel message
  // checks our membership first. What could still fail after a write (a sender key rotation
  // every 1,000 messages) is caught by commit_items, which then runs the batch again.
  steps.risky = [](size_t) { return false; };
  steps.run = [&](size_t i) { return outcomes[i] = commit_one(sends[i], committed[i]); };
  steps.undo = [&](size_t i) { committed[i] = Committed{}; };
  steps.restart = [&] {
    committed.assign(sends.size(), Committed{});
    outcomes.assign(sends.size(), Status::internal("not sent"));
  };
  Status status = commit_items(sends.size(), steps);
  note_storage(status);
  if (!status.is_ok()) {
    for (auto& send : sends) send.done(status);
    return;
  }
  // Tests kill us here: the outbox must send what was committed after the restart.
  crash_point(CrashPoint::kAfterCommitBeforeSend);
  report_sends(sends, committed, outcomes);
}

void MessageLedger::report_sends(std::vector<QueuedSend>& sends, std::vector<Committed>& committed,
                                 const std::vector<Status>& outcomes) {
  // Committed: now they may go out, in order, all together (one look at the outbox for each
  // recipient, not one per frame).
  std::vector<Outgoing> out;
  std::vector<std::pair<size_t, size_t>> span(sends.size());  // each send's frames in `out`
  for (size_t i = 0; i < sends.size(); ++i) {
    span[i].first = out.size();
    if (outcomes[i].is_ok()) {
      for (Outgoing& o : committed[i].out) out.push_back(std::move(o));
    }
    span[i].second = out.size();
  }
  outbox_.transmit(out);
  for (size_t i = 0; i < sends.size(); ++i) {
    if (!outcomes[i].is_ok()) {
      sends[i].done(outcomes[i]);
      continue;
    }
    Committed& c = committed[i];
    hooks_.count(Counter::messages_sent, 1);
    const auto first = out.begin() + static_cast<ptrdiff_t>(span[i].first);
    const auto last = out.begin() + static_cast<ptrdiff_t>(span[i].second);
    const bool all_out = first < last && std::all_of(first, last, [&](const Outgoing& o) {
                           return outbox_.handed_over(o);
                         });
    if (all_out) c.info.state = MessageState::kSent;
    for (auto& event : c.events) hooks_.publish(std::move(event));
    hooks_.publish(Event{clock_.wall_ms(), MessageEvent{c.info}});
    sends[i].done(c.info);
  }
}

Status MessageLedger::commit_signal(const std::string& to, storage::MessageRecord& message,
                                    wire::Content content, std::vector<Outgoing>& out) {
  message.message_id = crypto::random_bytes(net::kMessageIdSize);
  message.sender = account_.fingerprint();
  message.outgoing = true;
  message.received_at = message.sent_at;
  message.state = storage::MessageState::kPending;
  if (content.has_text()) {
    content.mutable_text()->set_id(as_chars(message.message_id).data(), message.message_id.size());
  }
  SOTTO_ASSIGN_OR_RETURN(Bytes plaintext, net::encode_content(std::move(content)));
  // Encrypted first: what can refuse the message (no session, an identity no longer trusted)
  // refuses it here, before any row is written (see commit_items).
  auto ciphertext = AccountInternals::signal(account_).encrypt(to, plaintext);
  wipe(plaintext.data(), plaintext.size());
  if (!ciphertext.is_ok()) return ciphertext.status();
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(AccountInternals::db(account_)).insert(message));
  if (!row) return Status::internal("message id collision");
  // Tests kill us here: the ratchet step must roll back with the message (doc/guide.md, Text).
  crash_point(CrashPoint::kAfterEncryptBeforeCommit);
  wire::Envelope envelope;
  auto* signal = envelope.mutable_signal();
  signal->set_type(static_cast<uint32_t>(ciphertext.value().type));
  signal->set_body(as_chars(ciphertext.value().bytes).data(), ciphertext.value().bytes.size());
  signal->set_message_id(as_chars(message.message_id).data(), message.message_id.size());
  SOTTO_ASSIGN_OR_RETURN(Bytes frame, net::encode_frame(std::move(envelope)));
  SOTTO_ASSIGN_OR_RETURN(int64_t outbox_id, storage::OutboxRepo(AccountInternals::db(account_))
                                                .add(*row, to, net::frame_without_padding(frame)));
  out.push_back({to, outbox_id, *row, std::move(frame)});
  return Status::ok();
}

Status MessageLedger::commit_direct(const std::string& to, wire::Content content,
                                    std::vector<Outgoing>& out) {
  storage::MessageRecord message;
  message.conversation = to;
  message.kind = storage::MessageKind::kControl;
  message.sent_at = clock_.wall_ms();
  return commit_signal(to, message, std::move(content), out);
}

// --- receiving ----------------------------------------------------------------------------------

void MessageLedger::receive_batch(const std::vector<Received>& batch,
                                  const ReceiveOne& receive_one) {
  Effects effects;
  // Receipts alone only mark our own messages delivered: lost in a power cut, the peer's next
  // receipt (after our resend, which it dedups) marks them again.
  const bool receipts_only = std::all_of(batch.begin(), batch.end(), [](const Received& r) {
    return r.envelope.body_case() == wire::Envelope::kReceipt;
  });
  RelaxedSync relaxed(AccountInternals::db(account_), receipts_only);
  BatchSteps steps;
  // A PreKey message may write the sender's identity and use up a pre-key before it fails.
  // So may one our mailbox forwards.
  steps.risky = [&](size_t i) {
    const wire::Envelope& e = batch[i].envelope;
    const wire::SignalMessage* signal = e.has_signal()      ? &e.signal()
                                        : e.has_forwarded() ? &e.forwarded().message()
                                                            : nullptr;
    return signal != nullptr &&
           signal->type() == static_cast<uint32_t>(crypto::Ciphertext::Type::kPreKey);
  };
  // What one message produced is undone with it.
  size_t events_before = 0;
  size_t out_before = 0;
  size_t live_before = 0;
  steps.run = [&](size_t i) {
    events_before = effects.events.size();
    out_before = effects.out.size();
    live_before = effects.live.size();
    return receive_one(batch[i], effects);
  };
  steps.undo = [&](size_t) {
    effects.events.resize(events_before);
    effects.out.resize(out_before);
    effects.live.resize(live_before);
  };
  steps.restart = [&] { effects = Effects{}; };
  steps.before_commit = [&] { outbox_.mark_sent(); };  // rides along for free
  Status committed = commit_items(batch.size(), steps);
  note_storage(committed);
  if (!committed.is_ok()) {
    hooks_.count(Counter::receive_batch_failed, 1);
    return;  // no receipt for anything not committed: the senders retry
  }
  // Tests kill us here: the sender's retry must be acknowledged again, and not stored twice.
  if (!effects.receipts.empty()) crash_point(CrashPoint::kAfterCommitBeforeReceipt);
  finish(effects);
}

Status MessageLedger::admit_sender(const std::string& from) {
  auto contact = storage::ContactRepo(AccountInternals::db(account_)).find(from);
  if (!contact.is_ok()) return contact.status();
  if (contact.value() || options_.accept_unknown) return Status::ok();
  // A fellow member of a channel is known through the admin's signed roster.
  auto member = storage::ChannelRepo(AccountInternals::db(account_)).shares_channel(from);
  if (member.is_ok() && member.value()) return Status::ok();
  hooks_.count(Counter::message_refused_unknown, 1);
  return Status::permission_denied("message from an unknown identity refused");
}

Result<crypto::Ciphertext> MessageLedger::ciphertext_of(const Received& item) {
  const wire::SignalMessage& m = item.envelope.signal();
  crypto::Ciphertext ciphertext;
  ciphertext.type = m.type() == static_cast<uint32_t>(crypto::Ciphertext::Type::kPreKey)
                        ? crypto::Ciphertext::Type::kPreKey
                        : crypto::Ciphertext::Type::kWhisper;
  ciphertext.bytes.assign(m.body().begin(), m.body().end());
  if (ciphertext.type == crypto::Ciphertext::Type::kPreKey) {
    // A first message names the identity it opens a session for: it must be the one that
    // authenticated this connection, or a peer could start a session in another's name.
    auto identity = crypto::SignalEngine::pre_key_message_identity(ciphertext.bytes);
    if (!identity.is_ok() || crypto::fingerprint_of(identity.value()) != item.from) {
      hooks_.count(Counter::message_refused_identity_mismatch, 1);
      return Status::untrusted("a first message whose identity is not its sender's");
    }
  }
  return ciphertext;
}

void MessageLedger::acknowledge_duplicate(const std::string& from, const Bytes& message_id,
                                          Effects& effects) {
  // Decrypted before, so committed before: acknowledge it again from the archive.
  hooks_.count(Counter::message_duplicates, 1);
  if (message_id.size() != net::kMessageIdSize) return;
  auto row = storage::MessageRepo(AccountInternals::db(account_)).find_row(from, message_id);
  if (row.is_ok() && row.value()) effects.receipts[from].push_back(message_id);
}

Status MessageLedger::refuse_undecrypted(const std::string& from, const Bytes& message_id,
                                         const Status& why, Effects& effects) {
  if (crypto::is_duplicate(why)) {
    acknowledge_duplicate(from, message_id, effects);
    return Status::ok();
  }
  if (why.code() == StatusCode::kUntrusted) {
    hooks_.count(Counter::message_refused_untrusted, 1);
    effects.events.push_back(
        Event{clock_.wall_ms(), AlertEvent{AlertKind::kUntrustedIdentity, why.message()}});
  } else {
    hooks_.count(Counter::message_dropped_invalid, 1);
  }
  return why;
}

Status MessageLedger::receive_direct(const Received& item, Effects& effects,
                                     const ApplyControl& apply_control) {
  const wire::SignalMessage& m = item.envelope.signal();
  const Bytes message_id(m.message_id().begin(), m.message_id().end());
  SOTTO_RETURN_IF_ERROR(admit_sender(item.from));
  SOTTO_ASSIGN_OR_RETURN(crypto::Ciphertext ciphertext, ciphertext_of(item));
  auto plaintext = AccountInternals::signal(account_).decrypt(item.from, ciphertext);
  if (!plaintext.is_ok()) {
    return refuse_undecrypted(item.from, message_id, plaintext.status(), effects);
  }
  // Tests kill us here: the ratchet step must roll back so the sender's retry still decrypts.
  crash_point(CrashPoint::kAfterDecryptBeforeCommit);
  auto content = net::decode_content(plaintext.value());
  wipe(plaintext.value().data(), plaintext.value().size());
  if (!content.is_ok()) {
    hooks_.count(Counter::message_dropped_content, 1);
    return content.status();
  }
  const bool is_text = content.value().has_text();
  // The id in clear (for duplicates) must be the id inside the encryption; a control message
  // carries its id only in clear, where it is bound to the ciphertext by the row below.
  if (message_id.size() != net::kMessageIdSize ||
      (is_text && content.value().text().id() != m.message_id())) {
    hooks_.count(Counter::message_dropped_id_mismatch, 1);
    return Status::corruption("message id mismatch");
  }
  if (is_text && !content.value().text().channel_id().empty()) {
    hooks_.count(Counter::message_dropped_content, 1);
    return Status::corruption("channel text outside its channel");
  }
  auto archive = [&] {
    return archive_direct(item.from, message_id, content.value(), effects, apply_control);
  };
  // A control message may be refused after it wrote (a roster that does not check out, a
  // sender key for a channel not known yet). Under a savepoint its rows go, and with them its
  // ratchet step (held until the batch commits), so the sender's retry decrypts again.
  return is_text ? archive() : in_savepoint(archive);
}

Status MessageLedger::archive_direct(const std::string& from, const Bytes& message_id,
                                     const wire::Content& content, Effects& effects,
                                     const ApplyControl& apply_control) {
  const bool is_text = content.has_text();
  SOTTO_RETURN_IF_ERROR(contacts_.ensure(from, effects.events));
  storage::MessageRecord record;
  record.message_id = message_id;
  record.conversation = from;
  record.sender = from;
  record.outgoing = false;
  record.kind = is_text ? storage::MessageKind::kText : storage::MessageKind::kControl;
  if (is_text) {
    record.body = content.text().body();
    record.sent_at = static_cast<int64_t>(content.text().sent_at());
  }
  record.received_at = clock_.wall_ms();
  if (!is_text) record.sent_at = record.received_at;
  record.state = storage::MessageState::kReceived;
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(AccountInternals::db(account_)).insert(record));
  if (!row) {
    effects.receipts[from].push_back(message_id);
    hooks_.count(Counter::message_duplicates, 1);
    return Status::ok();
  }
  if (is_control(content)) {
    SOTTO_RETURN_IF_ERROR(apply_control(from, content, effects));
  } else {
    hooks_.count(Counter::messages_received, 1);
    auto c = storage::ContactRepo(AccountInternals::db(account_)).find(from);
    const bool known = c.is_ok() && c.value();
    effects.events.push_back(Event{
        clock_.wall_ms(),
        MessageEvent{message_info(record, known ? c.value()->name : "",
                                  known ? trust_of(c.value()->trust) : Trust::kUnverified, "")}});
  }
  effects.receipts[from].push_back(message_id);
  return Status::ok();
}

Status MessageLedger::apply_receipt(const std::string& from, const wire::Receipt& receipt,
                                    std::vector<Event>& events) {
  if (receipt.ids_size() > kMaxReceiptIds) {
    hooks_.count(Counter::receipt_dropped_oversized, 1);
    return Status::ok();  // not ours: our receipts are split to fit
  }
  storage::MessageRepo messages(AccountInternals::db(account_));
  bool progress = false;
  for (const auto& id : receipt.ids()) {
    if (id.size() != net::kMessageIdSize) {
      hooks_.count(Counter::receipt_dropped_malformed, 1);
      continue;
    }
    const Bytes bytes(id.begin(), id.end());
    // Only what waits in the outbox for this very peer (its ZAP identity sent the receipt):
    // for a channel message, one of the entries of its members.
    SOTTO_ASSIGN_OR_RETURN(auto row, messages.find_row(account_.fingerprint(), bytes));
    if (!row) continue;
    SOTTO_ASSIGN_OR_RETURN(bool removed, acknowledge(from, *row, bytes, events));
    progress = progress || removed;
  }
  if (progress) outbox_.on_progress(from);
  return Status::ok();
}

Status MessageLedger::acknowledge_rows(const std::string& from, const std::vector<int64_t>& rows,
                                       std::vector<Event>& events) {
  storage::MessageRepo messages(AccountInternals::db(account_));
  bool progress = false;
  for (int64_t row : rows) {
    SOTTO_ASSIGN_OR_RETURN(auto message, messages.get(row));
    if (!message || message->sender != account_.fingerprint()) continue;
    SOTTO_ASSIGN_OR_RETURN(bool removed, acknowledge(from, row, message->message_id, events));
    progress = progress || removed;
  }
  if (progress) outbox_.on_progress(from);
  return Status::ok();
}

Result<bool> MessageLedger::acknowledge(const std::string& from, int64_t row,
                                        const Bytes& message_id, std::vector<Event>& events) {
  storage::MessageRepo messages(AccountInternals::db(account_));
  storage::OutboxRepo outbox(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(bool removed, outbox.remove(row, from));
  if (!removed) return false;
  hooks_.count(Counter::receipts_received, 1);
  SOTTO_RETURN_IF_ERROR(contacts_.confirm_session_by_receipt(from, row));
  SOTTO_ASSIGN_OR_RETURN(int64_t waiting, outbox.count_for_message(row));
  if (waiting != 0) return true;
  SOTTO_RETURN_IF_ERROR(messages.set_state(row, storage::MessageState::kDelivered));
  SOTTO_RETURN_IF_ERROR(outbox.remove_for_message(row));  // a shared frame, if any
  events.push_back(
      Event{clock_.wall_ms(), ReceiptEvent{from, to_hex(message_id), MessageState::kDelivered}});
  return true;
}

}  // namespace sotto::core
