#include "src/core/messenger.h"

#include <algorithm>
#include <cstdio>

#include "sotto/base/crash_point.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/outbox_repo.h"
#include "sotto/storage/search_repo.h"
#include "src/core/messenger_internal.h"
#include "src/net/content.h"
#include "src/net/hello.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

constexpr size_t kMinFingerprintPrefix = 4;
constexpr int64_t kFlushChunk = 256;
constexpr size_t kSendBatch = 256;
constexpr int64_t kSentMarkIntervalMs = 250;
constexpr int64_t kUpkeepIntervalMs = 500;
constexpr int64_t kQuietMs = 20;
// A log this long is copied when quiet (1 MiB with our 1 KiB pages); a shorter one waits, as
// each copy costs the database file an fsync.
constexpr int64_t kQuietCheckpointFrames = 1024;
// How often expired messages are looked for: a message lives at most this much past its time.
constexpr int64_t kExpireIntervalMs = 1000;
// Ids per Receipt: each is an index lookup and a delete, so one frame may not ask for more than
// a few milliseconds of work (a batch's receipts are split to fit).
constexpr int kMaxReceiptIds = 512;
// Peers whose last bundle request is remembered (each bundle costs a one-time pre-key): enough
// for every peer of a big LAN, and no more when strangers make up identities to fill it.
constexpr size_t kMaxBundleRequesters = 4096;

std::string state_name(storage::MessageState state) {
  switch (state) {
    case storage::MessageState::kPending:
      return "pending";
    case storage::MessageState::kSent:
      return "sent";
    case storage::MessageState::kDelivered:
      return "delivered";
    case storage::MessageState::kReceived:
      return "received";
  }
  return "unknown";
}

bool is_hex_prefix(const std::string& text) {
  return text.size() >= kMinFingerprintPrefix && std::all_of(text.begin(), text.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c));
         });
}

// Unverified until the user compares safety numbers; the repository decides whether the name
// is already someone else's (a namesake).
storage::ContactRecord new_contact(const std::string& fingerprint, const std::string& name,
                                   const Bytes& identity_key, int64_t added_at_ms) {
  storage::ContactRecord record;
  record.fingerprint = fingerprint;
  record.name = name;
  record.identity_key = identity_key;
  record.added_at = added_at_ms;
  return record;
}

// Commits made while it lives skip the fsync (synchronous=NORMAL; still safe from a killed
// process) when `relax`: for writes that a power cut may undo without losing a message, because
// the peer resends and the archive dedups. Received messages always commit with FULL.
class RelaxedSync {
 public:
  RelaxedSync(storage::Database& db, bool relax) : db_(db), relax_(relax) {
    if (relax_) (void)db_.set_synchronous(storage::Synchronous::kNormal);
  }
  ~RelaxedSync() {
    if (relax_) (void)db_.set_synchronous(storage::Synchronous::kFull);
  }
  RelaxedSync(const RelaxedSync&) = delete;
  RelaxedSync& operator=(const RelaxedSync&) = delete;

 private:
  storage::Database& db_;
  bool relax_;
};

}  // namespace

Trust trust_of(storage::Trust trust) {
  return trust == storage::Trust::kVerified ? Trust::kVerified : Trust::kUnverified;
}

Messenger::Messenger(Account& account, const Clock& clock, MessengerOptions options,
                     MessengerHooks hooks)
    : account_(account), clock_(clock), options_(options), hooks_(std::move(hooks)) {}

Status Messenger::start() {
  // Received messages are acknowledged only once they are on disk for good.
  SOTTO_RETURN_IF_ERROR(account_.db().set_synchronous(storage::Synchronous::kFull));
  SOTTO_ASSIGN_OR_RETURN(auto recipients, storage::OutboxRepo(account_.db()).recipients());
  for (const auto& recipient : recipients) flows_[recipient];
  return Status::ok();
}

// --- contacts -----------------------------------------------------------------------------------

Result<std::vector<storage::ContactRecord>> Messenger::all_contacts() {
  return storage::ContactRepo(account_.db()).list();
}

ContactInfo Messenger::info_of(const storage::ContactRecord& contact) {
  ContactInfo info;
  info.fingerprint = contact.fingerprint;
  info.name = contact.name;
  info.identity_key = contact.identity_key;
  info.trust = trust_of(contact.trust);
  info.namesake_of = contact.namesake_of;
  auto peer = hooks_.peer(contact.fingerprint);
  info.online =
      peer && (peer->state == net::PeerState::kOnline || peer->state == net::PeerState::kEvasive);
  return info;
}

Result<storage::ContactRecord> Messenger::resolve(const std::string& to) {
  if (to.empty()) return Status::invalid_argument("no recipient given");
  storage::ContactRepo contacts(account_.db());
  // A name finds the contact that had it first, never a namesake: taking someone's name
  // captures nothing.
  SOTTO_ASSIGN_OR_RETURN(auto named, contacts.with_name(to));
  std::vector<storage::ContactRecord> matches;
  for (auto& c : named) {
    if (c.namesake_of.empty()) matches.push_back(std::move(c));
  }
  if (is_hex_prefix(to)) {
    // A name that looks like a fingerprint must not capture a fingerprint prefix either (a peer
    // calling itself "3fa9"): both readings are kept, and two different contacts are ambiguous.
    std::string lower = to;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    SOTTO_ASSIGN_OR_RETURN(auto by_prefix, contacts.with_fingerprint_prefix(lower));
    for (auto& c : by_prefix) {
      const bool listed = std::any_of(matches.begin(), matches.end(), [&](const auto& m) {
        return m.fingerprint == c.fingerprint;
      });
      if (!listed) matches.push_back(std::move(c));
    }
  }
  if (matches.empty() && !named.empty()) {
    return Status::invalid_argument(
        "'" + to + "' is only the name a namesake also uses; use its " +
        "fingerprint prefix: " + named.front().fingerprint.substr(0, 16));
  }
  if (matches.empty()) {
    return Status::invalid_argument("unknown recipient '" + to +
                                    "': not a contact name or fingerprint prefix (see sotto add)");
  }
  if (matches.size() > 1) {
    std::string list;
    for (const auto& c : matches) list += " " + c.fingerprint.substr(0, 16);
    return Status::invalid_argument("'" + to + "' is ambiguous; use a fingerprint prefix:" + list);
  }
  return matches.front();
}

Result<std::vector<ContactInfo>> Messenger::contacts() {
  SOTTO_ASSIGN_OR_RETURN(auto records, all_contacts());
  std::vector<ContactInfo> out;
  for (const auto& c : records) out.push_back(info_of(c));
  return out;
}

void Messenger::add_contact(const std::string& peer_query, const std::string& name, AddDone done) {
  // The peer: by fingerprint prefix, or by the name in its Hello.
  std::vector<PeerInfo> matches;
  // A peer that does not know us yet sends its name only as a digest keyed to our transport
  // key: typing the name finds it, listing peers does not reveal it.
  const Bytes typed_digest = net::name_digest(account_.transport_public(), peer_query);
  for (const auto& peer : hooks_.peers()) {
    const bool by_name = peer.name == peer_query || peer.name_digest == typed_digest;
    const bool by_prefix = is_hex_prefix(peer_query) && peer.fingerprint.rfind(peer_query, 0) == 0;
    if (by_name || by_prefix) matches.push_back(peer);
  }
  if (matches.empty()) {
    return done(Status::invalid_argument("no peer '" + peer_query +
                                         "' nearby (see sotto peers); it must be online to add"));
  }
  if (matches.size() > 1) {
    return done(Status::invalid_argument("'" + peer_query +
                                         "' matches several peers; use a "
                                         "fingerprint prefix"));
  }
  const PeerInfo& peer = matches.front();
  if (!(peer.state == net::PeerState::kOnline || peer.state == net::PeerState::kEvasive)) {
    return done(Status::unavailable(peer_query + " is not online; a contact is added while it is"));
  }
  std::string contact_name = !name.empty() ? name : peer.name;
  if (contact_name.empty() && peer.name_digest == typed_digest) contact_name = peer_query;
  if (contact_name.empty()) contact_name = peer.fingerprint.substr(0, 16);
  if (contact_name.size() > Account::kMaxNameBytes || !net::is_valid_utf8(contact_name)) {
    return done(Status::invalid_argument("bad contact name"));
  }
  PendingAdd add{peer.fingerprint, contact_name, crypto::random_bytes(16),
                 clock_.now_ms() + options_.bundle_timeout_ms, std::move(done)};
  // With a session already in place (they wrote first), no new X3DH is needed.
  auto has = account_.signal().has_session(peer.fingerprint);
  if (has.is_ok() && has.value()) {
    storage::ContactRecord record =
        new_contact(peer.fingerprint, contact_name, peer.identity_key, clock_.wall_ms());
    auto existing = storage::ContactRepo(account_.db()).find(peer.fingerprint);
    if (existing.is_ok() && existing.value()) record.trust = existing.value()->trust;
    Status saved = storage::ContactRepo(account_.db()).upsert(record);
    if (!saved.is_ok()) return finish_add(std::move(add), saved);
    return finish_add(std::move(add), info_of(record));
  }
  wire::Envelope envelope;
  envelope.mutable_bundle_request()->set_request_id(as_chars(add.request_id).data(),
                                                    add.request_id.size());
  auto frame = net::encode_frame(std::move(envelope));
  if (!frame.is_ok() || !hooks_.send_frame(peer.fingerprint, frame.value())) {
    return finish_add(std::move(add), Status::unavailable("could not reach " + peer_query));
  }
  pending_adds_.push_back(std::move(add));
}

void Messenger::finish_add(PendingAdd add, Result<ContactInfo> result) {
  if (result.is_ok()) {
    hooks_.publish(Event{clock_.wall_ms(), ContactEvent{result.value(), "added"}});
    if (hooks_.introduce) hooks_.introduce(add.fingerprint);
  }
  add.done(std::move(result));
}

void Messenger::handle_bundle_request(const std::string& from, const wire::BundleRequest& request) {
  // Every bundle hands out a one-time pre-key: a peer asking too often is draining them.
  const int64_t now = clock_.now_ms();
  auto last = last_bundle_served_ms_.find(from);
  if (last != last_bundle_served_ms_.end() &&
      now - last->second < options_.bundle_request_interval_ms) {
    hooks_.count(Counter::bundle_request_refused_rate, 1);
    return;
  }
  if (last_bundle_served_ms_.size() >= kMaxBundleRequesters) {
    std::erase_if(last_bundle_served_ms_, [&](const auto& served) {
      return now - served.second >= options_.bundle_request_interval_ms;
    });
    if (last_bundle_served_ms_.size() >= kMaxBundleRequesters) {
      hooks_.count(Counter::bundle_request_refused_busy, 1);
      return;
    }
  }
  last_bundle_served_ms_[from] = now;
  storage::Transaction tx(account_.db());
  if (!tx.begin_status().is_ok()) return;
  auto bundle = account_.signal().bundle();
  if (!bundle.is_ok() || !account_.signal().replenish_pre_keys().is_ok() || !tx.commit().is_ok()) {
    hooks_.count(Counter::bundle_request_failed, 1);
    return;
  }
  const crypto::PreKeyBundle& b = bundle.value();
  wire::Envelope envelope;
  auto* out = envelope.mutable_bundle();
  out->set_request_id(request.request_id());
  out->set_registration_id(b.registration_id);
  out->set_device_id(static_cast<uint32_t>(b.device_id));
  out->set_pre_key_id(b.pre_key_id);
  out->set_pre_key(as_chars(b.pre_key).data(), b.pre_key.size());
  out->set_signed_pre_key_id(b.signed_pre_key_id);
  out->set_signed_pre_key(as_chars(b.signed_pre_key).data(), b.signed_pre_key.size());
  out->set_signed_pre_key_signature(as_chars(b.signed_pre_key_signature).data(),
                                    b.signed_pre_key_signature.size());
  out->set_identity_key(as_chars(b.identity_key).data(), b.identity_key.size());
  auto frame = net::encode_frame(std::move(envelope));
  if (frame.is_ok()) hooks_.send_frame(from, frame.value());
  hooks_.count(Counter::bundles_served, 1);
}

void Messenger::handle_bundle(const std::string& from, const wire::Bundle& bundle) {
  auto it = std::find_if(pending_adds_.begin(), pending_adds_.end(), [&](const PendingAdd& a) {
    return a.fingerprint == from && as_chars(a.request_id) == bundle.request_id();
  });
  if (it == pending_adds_.end()) {
    hooks_.count(Counter::bundle_unexpected, 1);
    return;
  }
  PendingAdd add = std::move(*it);
  pending_adds_.erase(it);
  auto peer = hooks_.peer(from);
  const Bytes identity_key(bundle.identity_key().begin(), bundle.identity_key().end());
  // The bundle must come from the identity that signed the peer's beacon.
  if (!peer || peer->identity_key != identity_key) {
    return finish_add(std::move(add),
                      Status::untrusted("the bundle's identity key is not the peer's; refused"));
  }
  crypto::PreKeyBundle b;
  b.registration_id = bundle.registration_id();
  b.device_id = static_cast<int32_t>(bundle.device_id());
  b.pre_key_id = bundle.pre_key_id();
  b.pre_key.assign(bundle.pre_key().begin(), bundle.pre_key().end());
  b.signed_pre_key_id = bundle.signed_pre_key_id();
  b.signed_pre_key.assign(bundle.signed_pre_key().begin(), bundle.signed_pre_key().end());
  b.signed_pre_key_signature.assign(bundle.signed_pre_key_signature().begin(),
                                    bundle.signed_pre_key_signature().end());
  b.identity_key = identity_key;
  storage::Transaction tx(account_.db());
  Status status = tx.begin_status();
  if (status.is_ok()) status = account_.signal().process_bundle(from, b);
  if (status.is_ok()) flows_[from].session_confirmed = false;  // a new session, not yet answered
  storage::ContactRecord record = new_contact(from, add.name, identity_key, clock_.wall_ms());
  if (status.is_ok()) {
    auto existing = storage::ContactRepo(account_.db()).find(from);
    if (existing.is_ok() && existing.value()) record.trust = existing.value()->trust;
    status = storage::ContactRepo(account_.db()).upsert(record);
  }
  if (status.is_ok()) status = tx.commit();
  if (!status.is_ok()) return finish_add(std::move(add), status);
  finish_add(std::move(add), info_of(record));
}

Result<std::string> Messenger::safety_number(const std::string& to) {
  SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord contact, resolve(to));
  return account_.signal().safety_number(account_.fingerprint(), contact.fingerprint,
                                         contact.identity_key);
}

void Messenger::confirm_contact(const std::string& to, AddDone done) {
  auto contact = resolve(to);
  if (!contact.is_ok()) return done(contact.status());
  storage::ContactRepo repo(account_.db());
  const std::string fingerprint = contact.value().fingerprint;
  Status status = repo.set_trust(fingerprint, storage::Trust::kVerified);
  if (!status.is_ok()) return done(status);
  auto updated = repo.find(fingerprint);
  if (!updated.is_ok() || !updated.value()) return done(Status::internal("contact vanished"));
  ContactInfo info = info_of(*updated.value());
  hooks_.publish(Event{clock_.wall_ms(), ContactEvent{info, "verified"}});
  auto has = account_.signal().has_session(fingerprint);
  if (has.is_ok() && has.value()) return done(info);
  // A contact made from a roster or by hand without a session yet: one now.
  add_contact(fingerprint, info.name, [info, done = std::move(done)](Result<ContactInfo> added) {
    if (added.is_ok()) return done(info);
    done(Status::unavailable("verified, but no session yet: " + added.status().message()));
  });
}

Result<ContactInfo> Messenger::replace_contact(const std::string& old_contact,
                                               const std::string& new_contact) {
  SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord old_record, resolve(old_contact));
  SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord new_record, resolve(new_contact));
  if (old_record.fingerprint == new_record.fingerprint) {
    return Status::invalid_argument("'" + old_contact + "' and '" + new_contact +
                                    "' are the same contact");
  }
  if (new_record.trust != storage::Trust::kVerified) {
    return Status::invalid_argument("compare safety numbers with the new key first: sotto verify " +
                                    new_record.fingerprint.substr(0, 16) +
                                    ", then again with --confirm if they match");
  }
  storage::ContactRepo repo(account_.db());
  SOTTO_RETURN_IF_ERROR(repo.take_name(new_record.fingerprint, old_record.name));
  SOTTO_ASSIGN_OR_RETURN(auto updated, repo.find(new_record.fingerprint));
  if (!updated) return Status::internal("contact vanished");
  ContactInfo info = info_of(*updated);
  hooks_.publish(Event{clock_.wall_ms(), ContactEvent{info, "replaced"}});
  return info;
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
    if (channel.value().state == storage::ChannelState::kInvited) {
      return done(Status::invalid_argument("#" + channel.value().name +
                                           " is an invitation: accept it first (sotto channel "
                                           "accept " +
                                           channel.value().name + ")"));
    }
    if (channel.value().state != storage::ChannelState::kMember) {
      return done(
          Status::invalid_argument("you are no longer a member of #" + channel.value().name));
    }
    sends_.push_back({{}, std::move(channel).value(), text, std::move(done)});
    return;
  }
  auto contact = resolve(to);
  if (!contact.is_ok()) return done(contact.status());
  auto has_session = account_.signal().has_session(contact.value().fingerprint);
  if (!has_session.is_ok()) return done(has_session.status());
  if (!has_session.value()) {
    return done(Status::unavailable("no session with " + contact.value().name +
                                    " yet; run: sotto add " + contact.value().name));
  }
  sends_.push_back({std::move(contact).value(), std::nullopt, text, std::move(done)});
}

Status Messenger::commit_signal(const std::string& to, storage::MessageRecord& message,
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
  auto ciphertext = account_.signal().encrypt(to, plaintext);
  wipe(plaintext.data(), plaintext.size());
  if (!ciphertext.is_ok()) return ciphertext.status();
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row,
                         storage::MessageRepo(account_.db()).insert(message));
  if (!row) return Status::internal("message id collision");
  // Tests kill us here: the ratchet step must roll back with the message (DESIGN §6).
  crash_point(CrashPoint::kAfterEncryptBeforeCommit);
  wire::Envelope envelope;
  auto* signal = envelope.mutable_signal();
  signal->set_type(static_cast<uint32_t>(ciphertext.value().type));
  signal->set_body(as_chars(ciphertext.value().bytes).data(), ciphertext.value().bytes.size());
  signal->set_message_id(as_chars(message.message_id).data(), message.message_id.size());
  SOTTO_ASSIGN_OR_RETURN(Bytes frame, net::encode_frame(std::move(envelope)));
  SOTTO_ASSIGN_OR_RETURN(int64_t outbox_id,
                         storage::OutboxRepo(account_.db()).add(*row, to, frame));
  out.push_back({to, outbox_id, *row, std::move(frame)});
  return Status::ok();
}

Status Messenger::commit_direct(const std::string& to, wire::Content content,
                                std::vector<Outgoing>& out) {
  storage::MessageRecord message;
  message.conversation = to;
  message.kind = storage::MessageKind::kControl;
  message.sent_at = clock_.wall_ms();
  return commit_signal(to, message, std::move(content), out);
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
  SOTTO_RETURN_IF_ERROR(commit_signal(contact.fingerprint, message, std::move(content), out.out));
  out.info = message_info(message, account_.name(), trust_of(contact.trust), "");
  return Status::ok();
}

Status Messenger::commit_items(size_t count, const BatchSteps& steps) {
  storage::Database& db = account_.db();
  crypto::HeldSignalState& held = account_.held_signal();
  for (bool savepoint_each : {false, true}) {
    storage::Transaction tx(db);
    SOTTO_RETURN_IF_ERROR(tx.begin_status());
    held.hold();
    Status status = Status::ok();
    bool run_again = false;
    for (size_t i = 0; i < count && status.is_ok(); ++i) {
      const bool savepoint = savepoint_each || steps.risky(i);
      if (savepoint) {
        status = db.savepoint();
        if (!status.is_ok()) break;
      }
      const int64_t changes_before = db.changes_kept();
      Status outcome = steps.run(i);
      if (outcome.is_ok()) {
        held.keep_item();
        if (savepoint) status = db.release_savepoint();
        continue;
      }
      held.drop_item();
      steps.undo(i);
      if (savepoint) status = db.rollback_to_savepoint();
      // SQLite ends the whole transaction on some errors (a full disk): nothing more may run
      // outside it, each statement committing on its own.
      if (!db.in_transaction()) status = outcome;
      if (status.is_ok() && !savepoint && db.changes_kept() != changes_before) {
        run_again = true;  // the item wrote before it failed, and nothing can undo that alone
        break;
      }
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

void Messenger::flush_sends() {
  if (sends_.empty()) return;
  // At most kSendBatch per transaction: a long queue goes out in slices, so the peer decrypts
  // one while we encrypt the next, and receipts are taken in between.
  const size_t take = std::min<size_t>(sends_.size(), kSendBatch);
  std::vector<QueuedSend> sends(std::make_move_iterator(sends_.begin()),
                                std::make_move_iterator(sends_.begin() + take));
  sends_.erase(sends_.begin(), sends_.begin() + take);
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
  note_activity();
  if (!status.is_ok()) {
    for (auto& send : sends) send.done(status);
    return;
  }
  // Tests kill us here: the outbox must send what was committed after the restart.
  crash_point(CrashPoint::kAfterCommitBeforeSend);
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
  transmit_all(out);
  for (size_t i = 0; i < sends.size(); ++i) {
    if (!outcomes[i].is_ok()) {
      sends[i].done(outcomes[i]);
      continue;
    }
    Committed& c = committed[i];
    hooks_.count(Counter::messages_sent, 1);
    const auto [first, last] = span[i];
    const bool all_out =
        first < last &&
        std::all_of(
            out.begin() + static_cast<ptrdiff_t>(first), out.begin() + static_cast<ptrdiff_t>(last),
            [&](const Outgoing& o) { return flows_[o.recipient].sent_through >= o.outbox_id; });
    if (all_out) c.info.state = "sent";
    for (auto& event : c.events) hooks_.publish(std::move(event));
    hooks_.publish(Event{clock_.wall_ms(), MessageEvent{c.info}});
    sends[i].done(c.info);
  }
}

void Messenger::transmit_all(const std::vector<Outgoing>& out) {
  // Per recipient, in commit order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Outgoing*>> by_recipient;
  for (const Outgoing& o : out) {
    auto& frames = by_recipient[o.recipient];
    if (frames.empty()) order.push_back(o.recipient);
    frames.push_back(&o);
  }
  for (const std::string& recipient : order) transmit_to(recipient, by_recipient[recipient]);
}

void Messenger::transmit_to(const std::string& recipient, std::vector<const Outgoing*> frames) {
  Flow& flow = flows_[recipient];
  if (!is_online(hooks_.peer(recipient)) || flow.blocked) return;
  std::erase_if(frames, [&](const Outgoing* o) { return o->outbox_id <= flow.sent_through; });
  if (frames.empty()) return;
  // In order: straight out only when they are exactly what waits next for this recipient on
  // this connection; otherwise older frames wait too, and the outbox sends them all in order.
  auto next = storage::OutboxRepo(account_.db())
                  .next_ids(recipient, flow.sent_through, static_cast<int64_t>(frames.size()));
  const bool in_order =
      next.is_ok() && next.value().size() == frames.size() &&
      std::equal(frames.begin(), frames.end(), next.value().begin(),
                 [](const Outgoing* o, int64_t id) { return o->outbox_id == id; });
  if (!in_order) {
    flush_outbox(recipient, false);
    return;
  }
  for (const Outgoing* o : frames) {
    if (!o->held && !hooks_.send_frame(recipient, o->frame)) {
      flow.blocked = true;  // the socket's queue is full: the outbox sends the rest later
      return;
    }
    flow.sent_through = o->outbox_id;
    sent_rows_.push_back(o->row);
    arm_retry(flow);
  }
}

void Messenger::flush_outbox(const std::string& recipient, bool from_start) {
  Flow& flow = flows_[recipient];
  if (from_start) {
    flow.sent_through = 0;
    flow.resent_through = 0;  // everything goes out again anyway
  }
  flow.blocked = false;
  storage::OutboxRepo outbox(account_.db());
  for (;;) {
    auto entries = outbox.pending(recipient, flow.sent_through, kFlushChunk);
    if (!entries.is_ok() || entries.value().empty()) break;
    for (const auto& entry : entries.value()) {
      if (!hooks_.send_frame(recipient, entry.frame)) {
        flow.blocked = true;  // the socket's queue is full: continue on the next turn
        return;
      }
      flow.sent_through = entry.id;
      sent_rows_.push_back(entry.message_row);
      hooks_.count(Counter::outbox_frames_sent, 1);
    }
  }
  arm_retry(flow);
}

void Messenger::resend_window(const std::string& recipient, int64_t after_id) {
  Flow& flow = flows_[recipient];
  flow.resent_through = 0;
  flow.receipts_since_check = false;
  auto entries =
      storage::OutboxRepo(account_.db()).pending(recipient, after_id, options_.retry_window);
  if (!entries.is_ok()) return;
  int64_t last = after_id;
  for (const auto& entry : entries.value()) {
    if (entry.id > flow.sent_through) break;  // never sent on this connection: flush's part
    if (!hooks_.send_frame(recipient, entry.frame)) {
      flow.blocked = true;
      break;
    }
    last = entry.id;
    hooks_.count(Counter::outbox_frames_resent, 1);
  }
  const bool more = static_cast<int64_t>(entries.value().size()) == options_.retry_window &&
                    last < flow.sent_through && last > after_id;
  if (more) flow.resent_through = last;
}

void Messenger::continue_recovery(const std::string& recipient, Flow& flow) {
  if (flow.resent_through == 0 || !flow.receipts_since_check) return;
  flow.receipts_since_check = false;
  // The next window once half of the last one is acknowledged: as fast as the peer commits,
  // never faster. (Receipts of originals that were merely slow count too, so a slow peer sees
  // each frame at most twice; one that lost frames gets them back at its own pace.)
  auto waiting = storage::OutboxRepo(account_.db()).count_waiting(recipient, flow.resent_through);
  if (waiting.is_ok() && waiting.value() <= options_.retry_window / 2) {
    resend_window(recipient, flow.resent_through);
  }
}

void Messenger::on_peer_online(const std::string& fingerprint, bool reconnected) {
  auto it = flows_.find(fingerprint);
  if (it == flows_.end()) return;
  it->second.retry_at_ms = 0;  // the flush arms it afresh
  flush_outbox(fingerprint, reconnected);
}

bool Messenger::knows(const std::string& fingerprint) {
  auto contact = storage::ContactRepo(account_.db()).find(fingerprint);
  if (contact.is_ok() && contact.value()) return true;
  auto member = storage::ChannelRepo(account_.db()).shares_channel(fingerprint);
  return member.is_ok() && member.value();
}

// --- receiving ----------------------------------------------------------------------------------

void Messenger::on_envelope(const std::string& fingerprint, const wire::Envelope& envelope) {
  switch (envelope.body_case()) {
    case wire::Envelope::kSignal:
    case wire::Envelope::kReceipt:
    case wire::Envelope::kGroup:
      batch_.push_back({fingerprint, envelope});
      break;
    case wire::Envelope::kBundleRequest:
      handle_bundle_request(fingerprint, envelope.bundle_request());
      break;
    case wire::Envelope::kBundle:
      handle_bundle(fingerprint, envelope.bundle());
      break;
    default:
      hooks_.count(Counter::frame_unhandled, 1);
      break;
  }
}

Status Messenger::ensure_contact(const std::string& fingerprint, std::vector<Event>& events) {
  storage::ContactRepo repo(account_.db());
  SOTTO_ASSIGN_OR_RETURN(auto existing, repo.find(fingerprint));
  if (existing) return Status::ok();
  auto peer = hooks_.peer(fingerprint);
  if (!peer) return Status::not_found("unknown peer");
  storage::ContactRecord record =
      new_contact(fingerprint, peer->name.empty() ? fingerprint.substr(0, 16) : peer->name,
                  peer->identity_key, clock_.wall_ms());
  SOTTO_RETURN_IF_ERROR(repo.upsert(record));
  events.push_back(Event{clock_.wall_ms(), ContactEvent{info_of(record), "added"}});
  if (hooks_.introduce) hooks_.introduce(fingerprint);
  return Status::ok();
}

Status Messenger::apply_receipt(const std::string& from, const wire::Receipt& receipt,
                                std::vector<Event>& events) {
  if (receipt.ids_size() > kMaxReceiptIds) {
    hooks_.count(Counter::receipt_dropped_oversized, 1);
    return Status::ok();  // not ours: our receipts are split to fit
  }
  storage::MessageRepo messages(account_.db());
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
    storage::OutboxRepo outbox(account_.db());
    SOTTO_ASSIGN_OR_RETURN(bool removed, outbox.remove(*row, from));
    if (!removed) continue;
    hooks_.count(Counter::receipts_received, 1);
    SOTTO_RETURN_IF_ERROR(note_session_confirmed(from, *row));
    SOTTO_ASSIGN_OR_RETURN(int64_t waiting, outbox.count_for_message(*row));
    if (waiting == 0) {
      SOTTO_RETURN_IF_ERROR(messages.set_state(*row, storage::MessageState::kDelivered));
      SOTTO_RETURN_IF_ERROR(outbox.remove_for_message(*row));  // a shared frame, if any
    }
    progress = true;
    if (waiting == 0) {
      events.push_back(Event{clock_.wall_ms(), ReceiptEvent{from, to_hex(bytes), "delivered"}});
    }
  }
  if (progress) note_progress(from);
  return Status::ok();
}

Status Messenger::note_session_confirmed(const std::string& from, int64_t row) {
  Flow& flow = flows_[from];
  if (flow.session_confirmed) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(auto message, storage::MessageRepo(account_.db()).get(row));
  // A channel message travels under a sender key: its receipt says nothing of the session.
  if (!message || message->conversation != from) return Status::ok();
  SOTTO_RETURN_IF_ERROR(account_.signal().confirm_session(from));
  flow.session_confirmed = true;
  return Status::ok();
}

void Messenger::arm_retry(Flow& flow) {
  if (flow.retry_at_ms != 0) return;  // already waiting for a receipt
  flow.backoff_ms = std::max(flow.patience_ms, options_.retry_initial_ms);
  flow.retry_at_ms = clock_.now_ms() + flow.backoff_ms;
  flow.awaiting_since_ms = clock_.now_ms();
}

void Messenger::note_progress(const std::string& recipient) {
  // Progress: the peer is working through the queue, so the retry clock starts over. Retries
  // are for a peer that went silent, not for a long queue being drained, so the clock is set
  // from how long this peer takes between receipts: a slow one (a small board, a node under a
  // sanitizer) teaches us patience at once, which then wears off slowly while it keeps up.
  Flow& flow = flows_[recipient];
  const int64_t now = clock_.now_ms();
  const int64_t least = options_.retry_initial_ms;
  if (flow.awaiting_since_ms != 0) {
    const int64_t gap = now - flow.awaiting_since_ms;
    const int64_t patience = std::max(flow.patience_ms, least);
    flow.patience_ms = std::clamp(std::max(2 * gap, patience - (patience - least) / 8), least,
                                  options_.retry_max_ms);
  }
  flow.receipts_since_check = true;
  auto waiting = storage::OutboxRepo(account_.db()).has_waiting(recipient);
  if (waiting.is_ok() && !waiting.value()) {
    flow.idle();
    return;
  }
  flow.awaiting_since_ms = now;
  flow.backoff_ms = std::max(flow.patience_ms, least);
  flow.retry_at_ms = now + flow.backoff_ms;
}

Status Messenger::receive_one(const Received& item, Effects& effects) {
  switch (item.envelope.body_case()) {
    case wire::Envelope::kReceipt:
      return apply_receipt(item.from, item.envelope.receipt(), effects.events);
    case wire::Envelope::kGroup:
      return receive_group(item, effects);
    default:
      return receive_direct(item, effects);
  }
}

Status Messenger::receive_direct(const Received& item, Effects& effects) {
  storage::MessageRepo messages(account_.db());
  const wire::SignalMessage& m = item.envelope.signal();
  const Bytes message_id(m.message_id().begin(), m.message_id().end());
  auto contact = storage::ContactRepo(account_.db()).find(item.from);
  if (!contact.is_ok()) return contact.status();
  if (!contact.value() && !options_.accept_unknown) {
    // A fellow member of a channel is known through the admin's signed roster.
    auto member = storage::ChannelRepo(account_.db()).shares_channel(item.from);
    if (!member.is_ok() || !member.value()) {
      hooks_.count(Counter::message_refused_unknown, 1);
      return Status::permission_denied("message from an unknown identity refused");
    }
  }
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
  auto plaintext = account_.signal().decrypt(item.from, ciphertext);
  if (!plaintext.is_ok()) {
    if (crypto::is_duplicate(plaintext.status())) {
      // Decrypted before, so committed before: acknowledge it again from the archive.
      hooks_.count(Counter::message_duplicates, 1);
      if (message_id.size() == net::kMessageIdSize) {
        auto row = messages.find_row(item.from, message_id);
        if (row.is_ok() && row.value()) effects.receipts[item.from].push_back(message_id);
      }
      return Status::ok();
    }
    if (plaintext.status().code() == StatusCode::kUntrusted) {
      hooks_.count(Counter::message_refused_untrusted, 1);
      effects.events.push_back(
          Event{clock_.wall_ms(), AlertEvent{"untrusted-identity", plaintext.status().message()}});
    } else {
      hooks_.count(Counter::message_dropped_invalid, 1);
    }
    return plaintext.status();
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
  // A control message may be refused after it wrote (a roster that does not check out, a
  // sender key for a channel not known yet). Under a savepoint its rows go, and with them its
  // ratchet step (held until the batch commits), so the sender's retry decrypts again.
  if (is_text) return archive_direct(item.from, message_id, content.value(), effects);
  return in_savepoint(
      [&] { return archive_direct(item.from, message_id, content.value(), effects); });
}

Status Messenger::in_savepoint(const std::function<Status()>& body) {
  storage::Database& db = account_.db();
  SOTTO_RETURN_IF_ERROR(db.savepoint());
  Status status = body();
  Status ended = status.is_ok() ? db.release_savepoint() : db.rollback_to_savepoint();
  return status.is_ok() ? ended : status;
}

Status Messenger::archive_direct(const std::string& from, const Bytes& message_id,
                                 const wire::Content& content, Effects& effects) {
  storage::MessageRepo messages(account_.db());
  const bool is_text = content.has_text();
  SOTTO_RETURN_IF_ERROR(ensure_contact(from, effects.events));
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
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> row, messages.insert(record));
  if (!row) {
    effects.receipts[from].push_back(message_id);
    hooks_.count(Counter::message_duplicates, 1);
    return Status::ok();
  }
  switch (content.body_case()) {
    case wire::Content::kChannelUpdate:
      SOTTO_RETURN_IF_ERROR(apply_update(from, content.channel_update(), effects));
      break;
    case wire::Content::kSenderKey:
      SOTTO_RETURN_IF_ERROR(apply_sender_key(from, content.sender_key()));
      break;
    case wire::Content::kChannelLeave:
      SOTTO_RETURN_IF_ERROR(apply_leave(from, content.channel_leave(), effects));
      break;
    case wire::Content::kExpiry:
      SOTTO_RETURN_IF_ERROR(apply_expiry(from, content.expiry(), effects));
      break;
    default: {
      hooks_.count(Counter::messages_received, 1);
      auto c = storage::ContactRepo(account_.db()).find(from);
      const bool known = c.is_ok() && c.value();
      effects.events.push_back(Event{
          clock_.wall_ms(),
          MessageEvent{message_info(record, known ? c.value()->name : "",
                                    known ? trust_of(c.value()->trust) : Trust::kUnverified, "")}});
    }
  }
  effects.receipts[from].push_back(message_id);
  return Status::ok();
}

MessageInfo Messenger::message_info(const storage::MessageRecord& record,
                                    const std::string& sender_name, Trust trust,
                                    const std::string& channel_name) {
  MessageInfo info;
  info.id = to_hex(record.message_id);
  info.conversation = record.conversation;
  info.channel = channel_name;
  info.kind = record.kind == storage::MessageKind::kSystem  ? "system"
              : record.kind == storage::MessageKind::kVoice ? "voice"
                                                            : "text";
  info.sender = record.sender;
  info.sender_name = sender_name;
  info.outgoing = record.outgoing;
  info.body = record.body;
  info.sent_at = record.sent_at;
  info.received_at = record.received_at;
  info.state = state_name(record.state);
  info.trust = trust;
  return info;
}

void Messenger::mark_sent_pending() {
  for (int64_t row : sent_rows_) {
    // Only pending rows move to sent; a receipt may already have made one delivered. OR FAIL:
    // no statement journal (see SignalRepo::store_session).
    auto stmt =
        account_.db().prepare("UPDATE OR FAIL messages SET state = 1 WHERE id = ?1 AND state = 0");
    if (!stmt.is_ok()) break;
    stmt.value()->bind(1, row);
    (void)stmt.value()->run();
  }
  sent_rows_.clear();
}

void Messenger::after_poll() {
  if (batch_.empty()) return;
  std::vector<Received> batch;
  batch.swap(batch_);
  Effects effects;
  storage::Database& db = account_.db();
  // Receipts alone only mark our own messages delivered: lost in a power cut, the peer's next
  // receipt (after our resend, which it dedups) marks them again.
  const bool receipts_only = std::all_of(batch.begin(), batch.end(), [](const Received& r) {
    return r.envelope.body_case() == wire::Envelope::kReceipt;
  });
  RelaxedSync relaxed(db, receipts_only);
  BatchSteps steps;
  // A PreKey message may write the sender's identity and use up a pre-key before it fails.
  steps.risky = [&](size_t i) {
    return batch[i].envelope.body_case() == wire::Envelope::kSignal &&
           batch[i].envelope.signal().type() ==
               static_cast<uint32_t>(crypto::Ciphertext::Type::kPreKey);
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
  steps.before_commit = [&] { mark_sent_pending(); };  // rides along for free
  Status committed = commit_items(batch.size(), steps);
  note_storage(committed);
  note_activity();
  if (!committed.is_ok()) {
    hooks_.count(Counter::receive_batch_failed, 1);
    return;  // no receipt for anything not committed: the senders retry
  }
  // Tests kill us here: the sender's retry must be acknowledged again, and not stored twice.
  if (!effects.receipts.empty()) crash_point(CrashPoint::kAfterCommitBeforeReceipt);
  finish_receive(effects);
}

void Messenger::note_storage(const Status& status) {
  const bool full = status.code() == StatusCode::kStorageFull;
  if (full) hooks_.count(Counter::storage_full_commits, 1);
  if (full == storage_full_ || (!full && !status.is_ok())) return;
  storage_full_ = full;
  AlertEvent alert =
      full ? AlertEvent{"storage-full",
                        status.message() +
                            "; nothing more is received or sent until space is freed (senders "
                            "keep their messages and retry)"}
           : AlertEvent{"storage-recovered", "storage available again; delivery resumes"};
  // stderr is the node's log (the daemon's output; the TUI sends it to the profile's tui.log):
  // one line there too, for whoever looks after a headless node.
  std::fprintf(stderr, "sotto: %s\n", alert.message.c_str());
  hooks_.publish(Event{clock_.wall_ms(), std::move(alert)});
}

void Messenger::finish_receive(Effects& effects) {
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
  transmit_all(effects.out);
  for (auto& event : effects.events) hooks_.publish(std::move(event));
  if (!effects.out.empty()) upkeep_at_ms_ = 0;  // a roster may have changed: share keys soon
}

void Messenger::on_timer() {
  const int64_t now = clock_.now_ms();
  for (auto it = pending_adds_.begin(); it != pending_adds_.end();) {
    if (now >= it->deadline_ms) {
      PendingAdd add = std::move(*it);
      it = pending_adds_.erase(it);
      finish_add(std::move(add), Status::unavailable("the peer did not answer with its bundle"));
    } else {
      ++it;
    }
  }
  // "sent" is for display only: batched, and without an fsync of its own.
  if (!sent_rows_.empty() && now - sent_marked_ms_ >= kSentMarkIntervalMs) {
    sent_marked_ms_ = now;
    storage::Database& db = account_.db();
    RelaxedSync relaxed(db, true);
    storage::Transaction tx(db);
    if (tx.begin_status().is_ok()) {
      mark_sent_pending();
      (void)tx.commit();
    }
  }
  if (now >= expire_at_ms_) {
    expire_at_ms_ = now + kExpireIntervalMs;
    expire_due();
  }
  if (now >= upkeep_at_ms_) {
    upkeep_at_ms_ = now + kUpkeepIntervalMs;
    channel_upkeep();
  }
  for (auto& [recipient, flow] : flows_) {
    auto peer = hooks_.peer(recipient);
    const bool online =
        peer && (peer->state == net::PeerState::kOnline || peer->state == net::PeerState::kEvasive);
    if (!online) continue;
    if (flow.blocked) {
      flush_outbox(recipient, false);
    } else if (flow.retry_at_ms != 0 && now >= flow.retry_at_ms) {
      auto waiting = storage::OutboxRepo(account_.db()).has_waiting(recipient);
      if (waiting.is_ok() && !waiting.value()) {
        flow.idle();
        continue;
      }
      hooks_.count(Counter::outbox_retries, 1);
      flow.backoff_ms = std::min(flow.backoff_ms * 2, options_.retry_max_ms);
      flow.retry_at_ms = now + flow.backoff_ms;
      resend_window(recipient, 0);
    } else {
      continue_recovery(recipient, flow);
    }
  }
}

void Messenger::note_activity() {
  last_activity_ms_ = clock_.now_ms();
  index_due_ = true;
}

std::optional<int64_t> Messenger::tidy_at_ms() const {
  // Busy: tidy_when_quiet would not run, and a time already past would make the loop spin for
  // as long as a flow stays blocked; busy() brings the loop back soon anyway.
  if (busy()) return std::nullopt;
  if (!index_due_ && account_.db().wal_frames() < kQuietCheckpointFrames) return std::nullopt;
  return last_activity_ms_ + kQuietMs;
}

void Messenger::tidy_when_quiet() {
  if (busy() || clock_.now_ms() - last_activity_ms_ < kQuietMs) return;
  storage::Database& db = account_.db();
  if (std::exchange(index_due_, false)) {
    // Lost in a power cut, the index is caught up again: its watermark is in the same commit.
    RelaxedSync relaxed(db, true);
    (void)storage::SearchRepo(db).catch_up();
  }
  (void)db.checkpoint_if_grown(kQuietCheckpointFrames);
}

bool Messenger::has_queued_work() const {
  return !batch_.empty() || !sends_.empty();
}

bool Messenger::busy() const {
  return has_queued_work() ||
         std::any_of(flows_.begin(), flows_.end(), [](const auto& f) { return f.second.blocked; });
}

uint64_t Messenger::outbox_waiting() {
  auto n = storage::OutboxRepo(account_.db()).count();
  return n.is_ok() ? static_cast<uint64_t>(n.value()) : 0;
}

Result<std::vector<MessageInfo>> Messenger::history(const std::string& to, int64_t limit) {
  std::string conversation;
  std::map<std::string, std::pair<std::string, Trust>> names;
  SOTTO_ASSIGN_OR_RETURN(auto contacts, all_contacts());
  for (const auto& c : contacts) names[c.fingerprint] = {c.name, trust_of(c.trust)};
  std::map<std::string, std::string> channel_names;  // conversation -> name
  SOTTO_ASSIGN_OR_RETURN(auto channels, storage::ChannelRepo(account_.db()).list());
  for (const auto& c : channels) {
    channel_names["#" + to_hex(c.id)] = c.name;
    SOTTO_ASSIGN_OR_RETURN(auto members, storage::ChannelRepo(account_.db()).members(c.id));
    for (const auto& m : members) {
      if (names.count(m.fingerprint) == 0) names[m.fingerprint] = {m.name, Trust::kUnverified};
    }
  }
  if (!to.empty() && to.front() == '#') {
    SOTTO_ASSIGN_OR_RETURN(storage::ChannelRecord channel, resolve_channel(to));
    conversation = "#" + to_hex(channel.id);
  } else if (!to.empty()) {
    SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord contact, resolve(to));
    conversation = contact.fingerprint;
  }
  SOTTO_ASSIGN_OR_RETURN(auto rows,
                         storage::MessageRepo(account_.db()).recent(conversation, limit));
  std::vector<MessageInfo> out;
  for (const auto& r : rows) {
    auto channel = channel_names.find(r.conversation);
    const bool in_channel = channel != channel_names.end();
    const std::string sender_name = r.outgoing ? account_.name() : names[r.sender].first;
    const Trust trust = in_channel ? names[r.sender].second : names[r.conversation].second;
    out.push_back(message_info(r, sender_name, trust, in_channel ? channel->second : ""));
  }
  return out;
}

}  // namespace sotto::core
