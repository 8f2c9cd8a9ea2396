#include "src/core/contact_book.h"
#include "src/core/account_internals.h"

#include <algorithm>
#include <utility>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/channel_repo.h"
#include "sotto/storage/message_repo.h"
#include "src/core/messenger.h"
#include "src/core/messenger_internal.h"
#include "src/net/content.h"
#include "src/net/hello.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

constexpr size_t kMinFingerprintPrefix = 4;
// Peers whose last bundle request is remembered (each bundle costs a one-time pre-key): enough
// for every peer of a big LAN, and no more when strangers make up identities to fill it.
constexpr size_t kMaxBundleRequesters = 4096;

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

wire::Envelope bundle_envelope(const std::string& request_id, const crypto::PreKeyBundle& b) {
  wire::Envelope envelope;
  auto* out = envelope.mutable_bundle();
  out->set_request_id(request_id);
  out->set_registration_id(b.registration_id);
  out->set_device_id(static_cast<uint32_t>(b.device_id));
  out->set_pre_key_id(b.pre_key_id);
  out->set_pre_key(as_chars(b.pre_key).data(), b.pre_key.size());
  out->set_signed_pre_key_id(b.signed_pre_key_id);
  out->set_signed_pre_key(as_chars(b.signed_pre_key).data(), b.signed_pre_key.size());
  out->set_signed_pre_key_signature(as_chars(b.signed_pre_key_signature).data(),
                                    b.signed_pre_key_signature.size());
  out->set_identity_key(as_chars(b.identity_key).data(), b.identity_key.size());
  return envelope;
}

crypto::PreKeyBundle bundle_of(const wire::Bundle& bundle) {
  crypto::PreKeyBundle b;
  b.registration_id = bundle.registration_id();
  b.device_id = static_cast<int32_t>(bundle.device_id());
  b.pre_key_id = bundle.pre_key_id();
  b.pre_key.assign(bundle.pre_key().begin(), bundle.pre_key().end());
  b.signed_pre_key_id = bundle.signed_pre_key_id();
  b.signed_pre_key.assign(bundle.signed_pre_key().begin(), bundle.signed_pre_key().end());
  b.signed_pre_key_signature.assign(bundle.signed_pre_key_signature().begin(),
                                    bundle.signed_pre_key_signature().end());
  b.identity_key.assign(bundle.identity_key().begin(), bundle.identity_key().end());
  return b;
}

}  // namespace

ContactBook::ContactBook(Account& account, const Clock& clock, const MessengerOptions& options,
                         const MessengerHooks& hooks)
    : account_(account), clock_(clock), options_(options), hooks_(hooks) {}

// --- reading ------------------------------------------------------------------------------------

Result<std::vector<storage::ContactRecord>> ContactBook::records() {
  return storage::ContactRepo(AccountInternals::db(account_)).list();
}

ContactInfo ContactBook::info_of(const storage::ContactRecord& contact) {
  ContactInfo info;
  info.fingerprint = contact.fingerprint;
  info.name = contact.name;
  info.identity_key = contact.identity_key;
  info.trust = trust_of(contact.trust);
  info.namesake_of = contact.namesake_of;
  info.online = is_online(hooks_.peer(contact.fingerprint));
  return info;
}

Result<storage::ContactRecord> ContactBook::resolve(const std::string& to) {
  if (to.empty()) return Status::invalid_argument("no recipient given");
  storage::ContactRepo contacts(AccountInternals::db(account_));
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

Result<std::vector<ContactInfo>> ContactBook::list() {
  SOTTO_ASSIGN_OR_RETURN(auto all, records());
  std::vector<ContactInfo> out;
  for (const auto& c : all) out.push_back(info_of(c));
  return out;
}

std::string ContactBook::name_of(const std::string& fingerprint) {
  if (fingerprint == account_.fingerprint()) return account_.name();
  auto contact = storage::ContactRepo(AccountInternals::db(account_)).find(fingerprint);
  if (contact.is_ok() && contact.value()) return contact.value()->name;
  auto channels = storage::ChannelRepo(AccountInternals::db(account_)).list();
  if (channels.is_ok()) {
    for (const auto& c : channels.value()) {
      auto members = storage::ChannelRepo(AccountInternals::db(account_)).members(c.id);
      if (!members.is_ok()) continue;
      for (const auto& m : members.value()) {
        if (m.fingerprint == fingerprint && !m.name.empty()) return m.name;
      }
    }
  }
  return fingerprint.substr(0, 16);
}

bool ContactBook::is_contact(const std::string& fingerprint) {
  auto contact = storage::ContactRepo(AccountInternals::db(account_)).find(fingerprint);
  return contact.is_ok() && contact.value();
}

bool ContactBook::knows(const std::string& fingerprint) {
  if (is_contact(fingerprint)) return true;
  auto member = storage::ChannelRepo(AccountInternals::db(account_)).shares_channel(fingerprint);
  return member.is_ok() && member.value();
}

// --- adding -------------------------------------------------------------------------------------

std::vector<PeerInfo> ContactBook::matching_peers(const std::string& peer_query,
                                                  const Bytes& typed_digest) {
  std::vector<PeerInfo> matches;
  for (auto& peer : hooks_.peers()) {
    const bool by_name = peer.name == peer_query || peer.name_digest == typed_digest;
    const bool by_prefix = is_hex_prefix(peer_query) && peer.fingerprint.rfind(peer_query, 0) == 0;
    if (by_name || by_prefix) matches.push_back(std::move(peer));
  }
  return matches;
}

Result<PeerInfo> ContactBook::find_peer(const std::string& peer_query, const Bytes& typed_digest) {
  std::vector<PeerInfo> matches = matching_peers(peer_query, typed_digest);
  if (matches.empty()) {
    return Status::invalid_argument("no peer '" + peer_query +
                                    "' nearby (see sotto peers); it must be online to add");
  }
  if (matches.size() > 1) {
    return Status::invalid_argument("'" + peer_query +
                                    "' matches several peers; use a "
                                    "fingerprint prefix");
  }
  if (!is_online(matches.front())) {
    return Status::unavailable(peer_query + " is not online; a contact is added while it is");
  }
  return matches.front();
}

void ContactBook::add(const std::string& peer_query, const std::string& name, AddDone done) {
  // A peer that does not know us yet sends its name only as a digest keyed to our transport
  // key: typing the name finds it, listing peers does not reveal it.
  const Bytes typed_digest = net::name_digest(account_.transport_public(), peer_query);
  auto found = find_peer(peer_query, typed_digest);
  if (!found.is_ok()) return done(found.status());
  const PeerInfo& peer = found.value();
  std::string contact_name = !name.empty() ? name : peer.name;
  if (contact_name.empty() && peer.name_digest == typed_digest) contact_name = peer_query;
  if (contact_name.empty()) contact_name = peer.fingerprint.substr(0, 16);
  if (contact_name.size() > Account::kMaxNameBytes || !net::is_valid_utf8(contact_name)) {
    return done(Status::invalid_argument("bad contact name"));
  }
  PendingAdd add{peer.fingerprint, contact_name, crypto::random_bytes(16),
                 clock_.now_ms() + options_.bundle_timeout_ms, std::move(done)};
  // With a session already in place (they wrote first), no new X3DH is needed.
  auto has = AccountInternals::signal(account_).has_session(peer.fingerprint);
  if (has.is_ok() && has.value()) {
    auto saved =
        save(new_contact(peer.fingerprint, contact_name, peer.identity_key, clock_.wall_ms()));
    if (!saved.is_ok()) return finish_add(std::move(add), saved.status());
    return finish_add(std::move(add), info_of(saved.value()));
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

// --- looking up a name --------------------------------------------------------------------------

void ContactBook::look_up_and_add(const std::string& peer_query, const std::string& name,
                                  AddDone done) {
  const Bytes typed_digest = net::name_digest(account_.transport_public(), peer_query);
  if (matching_peers(peer_query, typed_digest).empty()) {
    std::vector<std::string> greeted = greet_strangers();
    if (!greeted.empty()) {
      lookups_.push_back({peer_query, name, clock_.now_ms() + options_.name_lookup_ms,
                          std::move(done), std::move(greeted)});
      return;
    }
  }
  add(peer_query, name, std::move(done));
}

std::vector<std::string> ContactBook::greet_strangers() {
  std::vector<std::string> greeted;
  if (!hooks_.greet) return greeted;
  for (const PeerInfo& peer : hooks_.peers()) {
    if (!is_online(peer) || !peer.name.empty() || !peer.name_digest.empty()) continue;
    if (greeted.size() == kMaxGreetingsPerLookup) {
      hooks_.count(Counter::name_lookup_greetings_capped, 1);
      break;
    }
    if (hooks_.greet(peer.fingerprint)) greeted.push_back(peer.fingerprint);
  }
  hooks_.count(Counter::name_lookup_greetings, greeted.size());
  return greeted;
}

bool ContactBook::heard_from_all(const NameLookup& lookup) {
  return std::all_of(lookup.greeted.begin(), lookup.greeted.end(), [&](const std::string& fp) {
    auto peer = hooks_.peer(fp);
    return !peer || peer->state == net::PeerState::kOffline || !peer->name.empty() ||
           !peer->name_digest.empty();
  });
}

void ContactBook::on_peer_changed(const std::string& fingerprint) {
  go_on_with([&](const NameLookup& lookup) {
    return std::find(lookup.greeted.begin(), lookup.greeted.end(), fingerprint) !=
               lookup.greeted.end() &&
           heard_from_all(lookup);
  });
}

void ContactBook::go_on_with(const std::function<bool(const NameLookup&)>& ready) {
  std::vector<NameLookup> settled;
  for (auto it = lookups_.begin(); it != lookups_.end();) {
    if (ready(*it)) {
      settled.push_back(std::move(*it));
      it = lookups_.erase(it);
    } else {
      ++it;
    }
  }
  // Out of lookups_ first: going on sends a bundle request, which may report a peer change.
  for (NameLookup& lookup : settled) add(lookup.query, lookup.name, std::move(lookup.done));
}

Result<storage::ContactRecord> ContactBook::save(const storage::ContactRecord& record) {
  storage::ContactRepo repo(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(repo.upsert(record));
  return stored(repo, record.fingerprint);
}

// The row as the repository keeps it (trust and namesake_of are its own), which is what the
// reply and the event must say.
Result<storage::ContactRecord> ContactBook::stored(storage::ContactRepo& repo,
                                                   const std::string& fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(auto found, repo.find(fingerprint));
  if (!found) return Status::internal("contact vanished");
  return std::move(*found);
}

void ContactBook::finish_add(PendingAdd add, Result<ContactInfo> result) {
  if (result.is_ok()) {
    hooks_.publish(Event{clock_.wall_ms(), ContactEvent{result.value(), ContactChange::kAdded}});
    if (hooks_.introduce) hooks_.introduce(add.fingerprint);
  }
  add.done(std::move(result));
}

void ContactBook::expire_adds() {
  const int64_t now = clock_.now_ms();
  // With the answers that came: a stranger that stayed silent is not the one typed, or is out
  // of reach.
  go_on_with([now](const NameLookup& lookup) { return now >= lookup.deadline_ms; });
  for (auto it = pending_adds_.begin(); it != pending_adds_.end();) {
    if (now >= it->deadline_ms) {
      PendingAdd add = std::move(*it);
      it = pending_adds_.erase(it);
      finish_add(std::move(add), Status::unavailable("the peer did not answer with its bundle"));
    } else {
      ++it;
    }
  }
}

void ContactBook::abandon_adds() {
  for (NameLookup& lookup : std::exchange(lookups_, {})) {
    lookup.done(Status::unavailable("the node stopped before the peers answered"));
  }
  std::vector<PendingAdd> adds = std::exchange(pending_adds_, {});
  for (PendingAdd& add : adds) {
    finish_add(std::move(add), Status::unavailable("the node stopped before the peer answered"));
  }
}

// --- bundles ------------------------------------------------------------------------------------

bool ContactBook::bundle_request_allowed(const std::string& from) {
  // Every bundle hands out a one-time pre-key: a peer asking too often is draining them.
  const int64_t now = clock_.now_ms();
  auto last = last_bundle_served_ms_.find(from);
  if (last != last_bundle_served_ms_.end() &&
      now - last->second < options_.bundle_request_interval_ms) {
    hooks_.count(Counter::bundle_request_refused_rate, 1);
    return false;
  }
  if (last_bundle_served_ms_.size() >= kMaxBundleRequesters) {
    std::erase_if(last_bundle_served_ms_, [&](const auto& served) {
      return now - served.second >= options_.bundle_request_interval_ms;
    });
    if (last_bundle_served_ms_.size() >= kMaxBundleRequesters) {
      hooks_.count(Counter::bundle_request_refused_busy, 1);
      return false;
    }
  }
  last_bundle_served_ms_[from] = now;
  return true;
}

void ContactBook::on_bundle_request(const std::string& from, const wire::BundleRequest& request) {
  if (!bundle_request_allowed(from)) return;
  storage::Transaction tx(AccountInternals::db(account_));
  if (!tx.begin_status().is_ok()) return;
  auto bundle = AccountInternals::signal(account_).bundle();
  if (!bundle.is_ok() || !AccountInternals::signal(account_).replenish_pre_keys().is_ok() ||
      !tx.commit().is_ok()) {
    hooks_.count(Counter::bundle_request_failed, 1);
    return;
  }
  auto frame = net::encode_frame(bundle_envelope(request.request_id(), bundle.value()));
  if (frame.is_ok()) hooks_.send_frame(from, frame.value());
  hooks_.count(Counter::bundles_served, 1);
}

void ContactBook::on_bundle(const std::string& from, const wire::Bundle& bundle) {
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
  const crypto::PreKeyBundle b = bundle_of(bundle);
  // The bundle must come from the identity that signed the peer's beacon.
  if (!peer || peer->identity_key != b.identity_key) {
    return finish_add(std::move(add),
                      Status::untrusted("the bundle's identity key is not the peer's; refused"));
  }
  storage::Transaction tx(AccountInternals::db(account_));
  Status status = tx.begin_status();
  if (status.is_ok()) status = AccountInternals::signal(account_).process_bundle(from, b);
  if (status.is_ok()) confirmed_sessions_.erase(from);  // a new session, not yet answered
  if (!status.is_ok()) return finish_add(std::move(add), status);
  auto saved = save(new_contact(from, add.name, b.identity_key, clock_.wall_ms()));
  status = saved.is_ok() ? tx.commit() : saved.status();
  if (!status.is_ok()) return finish_add(std::move(add), status);
  finish_add(std::move(add), info_of(saved.value()));
}

// --- trust --------------------------------------------------------------------------------------

Result<std::string> ContactBook::safety_number(const std::string& to) {
  SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord contact, resolve(to));
  return AccountInternals::signal(account_).safety_number(
      account_.fingerprint(), contact.fingerprint, contact.identity_key);
}

void ContactBook::confirm(const std::string& to, AddDone done) {
  auto contact = resolve(to);
  if (!contact.is_ok()) return done(contact.status());
  storage::ContactRepo repo(AccountInternals::db(account_));
  const std::string fingerprint = contact.value().fingerprint;
  Status status = repo.set_trust(fingerprint, storage::Trust::kVerified);
  if (!status.is_ok()) return done(status);
  auto updated = repo.find(fingerprint);
  if (!updated.is_ok() || !updated.value()) return done(Status::internal("contact vanished"));
  ContactInfo info = info_of(*updated.value());
  hooks_.publish(Event{clock_.wall_ms(), ContactEvent{info, ContactChange::kVerified}});
  auto has = AccountInternals::signal(account_).has_session(fingerprint);
  if (has.is_ok() && has.value()) return done(info);
  // A contact made from a roster or by hand without a session yet: one now.
  add(fingerprint, info.name, [info, done = std::move(done)](Result<ContactInfo> added) {
    if (added.is_ok()) return done(info);
    done(Status::unavailable("verified, but no session yet: " + added.status().message()));
  });
}

Result<ContactInfo> ContactBook::replace(const std::string& old_contact,
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
  storage::ContactRepo repo(AccountInternals::db(account_));
  SOTTO_RETURN_IF_ERROR(repo.take_name(new_record.fingerprint, old_record.name));
  SOTTO_ASSIGN_OR_RETURN(auto updated, repo.find(new_record.fingerprint));
  if (!updated) return Status::internal("contact vanished");
  ContactInfo info = info_of(*updated);
  hooks_.publish(Event{clock_.wall_ms(), ContactEvent{info, ContactChange::kReplaced}});
  return info;
}

// --- receiving ----------------------------------------------------------------------------------

Status ContactBook::ensure(const std::string& fingerprint, std::vector<Event>& events) {
  storage::ContactRepo repo(AccountInternals::db(account_));
  SOTTO_ASSIGN_OR_RETURN(auto existing, repo.find(fingerprint));
  if (existing) return Status::ok();
  auto peer = hooks_.peer(fingerprint);
  if (!peer) return Status::not_found("unknown peer");
  storage::ContactRecord record =
      new_contact(fingerprint, peer->name.empty() ? fingerprint.substr(0, 16) : peer->name,
                  peer->identity_key, clock_.wall_ms());
  SOTTO_RETURN_IF_ERROR(repo.upsert(record));
  SOTTO_ASSIGN_OR_RETURN(storage::ContactRecord saved, stored(repo, fingerprint));
  events.push_back(Event{clock_.wall_ms(), ContactEvent{info_of(saved), ContactChange::kAdded}});
  if (hooks_.introduce) hooks_.introduce(fingerprint);
  return Status::ok();
}

Status ContactBook::confirm_session_by_receipt(const std::string& from, int64_t row) {
  if (confirmed_sessions_.count(from) != 0) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(auto message,
                         storage::MessageRepo(AccountInternals::db(account_)).get(row));
  // A channel message travels under a sender key: its receipt says nothing of the session.
  if (!message || message->conversation != from) return Status::ok();
  SOTTO_RETURN_IF_ERROR(AccountInternals::signal(account_).confirm_session(from));
  confirmed_sessions_.insert(from);
  return Status::ok();
}

}  // namespace sotto::core
