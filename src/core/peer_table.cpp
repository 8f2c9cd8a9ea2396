#include "src/core/peer_table.h"

#include <algorithm>
#include <utility>

namespace sotto::core {
namespace {

// Hellos from one bound peer: one per connection is all an honest node sends.
constexpr double kHellosPerPeerPerS = 1;
constexpr double kHelloBurst = 4;
// Beacons per second per identity (after the signature). Honest nodes send one a second, plus
// replies.
constexpr double kBeaconsPerIdentity = 10;
constexpr double kBeaconsPerIdentityBurst = 20;

}  // namespace

PeerTable::PeerTable(PeerTableOptions options, const Clock& clock, LinkControl& links,
                     Counters& counters, std::function<void(Peer&)> on_change)
    : options_(std::move(options)),
      clock_(clock),
      links_(links),
      counters_(counters),
      on_change_(std::move(on_change)) {}

PeerTable::Peer& PeerTable::make_peer(const std::string& fingerprint) {
  Peer peer{PeerInfo{},
            net::PeerLiveness(options_.liveness, now()),
            RateLimit(options_.peer_frames_per_s, options_.peer_burst, now()),
            RateLimit(options_.stranger_frames_per_s, options_.stranger_burst, now()),
            RateLimit(kHellosPerPeerPerS, kHelloBurst, now()),
            RateLimit(kBeaconsPerIdentity, kBeaconsPerIdentityBurst, now())};
  peer.info.fingerprint = fingerprint;
  counters_.add(Counter::peers_discovered);
  return peers_.emplace(fingerprint, std::move(peer)).first->second;
}

PeerTable::Peer* PeerTable::on_beacon(const std::string& fingerprint, const Bytes& identity_key,
                                      const Bytes& transport_key, const std::string& endpoint,
                                      bool configured, bool live) {
  Peer* found = find(fingerprint);
  if (found == nullptr) {
    if (peers_.size() >= options_.max_peers && !evict_idle_peer()) {
      counters_.add(Counter::peer_table_full);
      return nullptr;
    }
    found = &make_peer(fingerprint);
    found->known = links_.knows(fingerprint);
    found->keep_link = links_.wants_link(fingerprint);
  }
  Peer& peer = *found;
  const bool key_changed = peer.info.transport_key != transport_key;
  const bool move = peer.info.endpoint != endpoint && (live || !peer.liveness.is_online());
  if (key_changed && !peer.info.transport_key.empty()) {
    links_.revoke(peer.info.transport_key, fingerprint);
  }
  peer.info.identity_key = identity_key;
  peer.info.transport_key = transport_key;
  peer.info.configured = peer.info.configured || configured;
  links_.admit(transport_key, fingerprint);
  if (move || peer.info.endpoint.empty()) set_endpoint(peer, endpoint);
  const bool relink =
      links_.has_link(fingerprint) ? move || key_changed : peer.keep_link || peer.info.configured;
  if (relink && !open_link(peer, peer.info.endpoint)) return &peer;
  peer.liveness.on_beacon(now());
  lower(peer);
  return &peer;
}

void PeerTable::on_live_beacon(Peer& peer, int64_t interval_ms) {
  const bool state_changed = peer.liveness.on_live_beacon(now(), interval_ms);
  lower(peer);
  if (state_changed) changed(peer);
}

bool PeerTable::on_traffic(Peer& peer) {
  const bool state_changed = peer.liveness.on_traffic(now());
  lower(peer);
  return state_changed;
}

void PeerTable::lower(const Peer& peer) {
  earliest_ms_ = std::min(earliest_ms_, peer.liveness.next_deadline_ms());
  if (peer.relink_at_ms != 0) earliest_ms_ = std::min(earliest_ms_, peer.relink_at_ms);
}

bool PeerTable::open_on_demand(Peer& peer) {
  if (links_.has_link(peer.info.fingerprint)) return true;
  if (peer.info.endpoint.empty() || !open_link(peer, peer.info.endpoint)) return false;
  counters_.add(Counter::links_opened_on_demand);
  // Queued ahead of what the node sends next: a peer reads nothing from an unproved key but
  // a Hello.
  greet(peer);
  return true;
}

void PeerTable::note_used(Peer& peer) {
  peer.last_used_ms = now();
}

size_t PeerTable::links_open() const {
  return static_cast<size_t>(std::count_if(peers_.begin(), peers_.end(), [&](const auto& entry) {
    return links_.has_link(entry.first);
  }));
}

bool PeerTable::open_link(Peer& peer, const std::string& endpoint) {
  set_endpoint(peer, endpoint);
  if (!links_.connect(peer.info.fingerprint, endpoint, peer.info.transport_key).is_ok()) {
    counters_.add(Counter::connect_failed);
    return false;
  }
  // A new link: whatever was planned for the old one no longer applies.
  peer.link_up = false;
  peer.relink_at_ms = 0;
  peer.relink_backoff_ms = 0;
  peer.hello_pending = true;
  peer.last_used_ms = now();  // a fresh link gets its idle time before it is closed
  const bool state_changed = peer.liveness.on_connecting(now());
  lower(peer);
  if (state_changed) changed(peer);
  return true;
}

bool PeerTable::idle_link(Peer& peer, int64_t now_ms) {
  if (peer.keep_link || peer.info.configured ||
      now_ms - peer.last_used_ms < options_.link_idle_ms) {
    return false;
  }
  // Asked only now, once per idle period: the answer reads the database.
  if (links_.wants_link(peer.info.fingerprint)) {
    peer.keep_link = true;
    return false;
  }
  return true;
}

void PeerTable::close_link(Peer& peer) {
  links_.disconnect(peer.info.fingerprint);
  counters_.add(Counter::links_closed_idle);
  peer.link_up = false;
  peer.hello_pending = false;
  peer.relink_at_ms = 0;
  peer.relink_backoff_ms = 0;
  const bool state_changed = peer.liveness.on_link_closed(now());
  lower(peer);
  if (state_changed) changed(peer);
}

// Identities cost an attacker nothing, so a full table makes room by forgetting a stranger we
// hold no link to, offline ones first, then the one quiet longest. Contacts, co-members, --peer
// hosts and peers we have a link to stay.
bool PeerTable::evictable(const Peer& peer) const {
  return !peer.known && !peer.info.configured && !links_.has_link(peer.info.fingerprint);
}

bool PeerTable::evict_idle_peer() {
  auto victim = peers_.end();
  auto quieter = [](const Peer& a, const Peer& b) {
    if (a.liveness.is_online() != b.liveness.is_online()) return !a.liveness.is_online();
    return a.liveness.last_heard_ms() < b.liveness.last_heard_ms();
  };
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    if (!evictable(it->second)) continue;
    if (victim == peers_.end() || quieter(it->second, victim->second)) victim = it;
  }
  if (victim == peers_.end()) return false;
  forget(victim->first);
  counters_.add(Counter::peers_evicted);
  return true;
}

void PeerTable::forget(const std::string& fingerprint) {
  auto it = peers_.find(fingerprint);
  if (it == peers_.end()) return;
  links_.disconnect(fingerprint);
  links_.revoke(it->second.info.transport_key, fingerprint);
  std::erase_if(key_owner_, [&](const auto& binding) { return binding.second == fingerprint; });
  by_endpoint_.erase({it->second.info.endpoint, fingerprint});
  peers_.erase(it);
}

void PeerTable::on_link(const std::string& fingerprint, net::LinkEvent event) {
  Peer* peer = find(fingerprint);
  if (peer == nullptr) return;
  bool state_changed = false;
  switch (event) {
    case net::LinkEvent::kHandshakeSucceeded:
      counters_.add(Counter::link_handshakes);
      peer->relink_at_ms = 0;
      peer->relink_backoff_ms = 0;
      peer->link_up = true;
      state_changed = peer->liveness.on_handshake(now());
      peer->link_fresh = true;
      // Before on_change: what the peer hears first is who we are (a link opened on demand
      // already queued its Hello).
      if (peer->hello_pending) greet(*peer);
      break;
    case net::LinkEvent::kHandshakeFailed:
      counters_.add(Counter::link_handshake_failures);
      state_changed = peer->liveness.on_handshake_failed(now());
      schedule_relink(*peer);
      break;
    case net::LinkEvent::kDisconnected:
      counters_.add(Counter::link_disconnects);
      state_changed = peer->liveness.on_link_down(now());
      peer->hello_pending = true;
      // A fresh link at once rather than ZeroMQ's own reconnect: that one would first send
      // what the old connection still had queued, ahead of the outbox's resend (from the
      // oldest unacknowledged) of what the old connection lost, and texts would arrive out of
      // order. Everything queued is either in the outbox or needs no resending (receipts,
      // which the peer asks again for by resending; voice, stale by now).
      schedule_relink(*peer);
      break;
    case net::LinkEvent::kMisbehaved:
      // A server that pushes frames at us is not a sotto node: its link goes, and comes back
      // only after a backoff, like one whose handshake failed.
      counters_.add(Counter::link_misbehaved);
      state_changed = peer->liveness.on_link_down(now());
      peer->link_up = false;
      peer->hello_pending = true;
      links_.disconnect(fingerprint);
      schedule_relink(*peer);
      break;
  }
  lower(*peer);
  if (state_changed) changed(*peer);
}

// A link that was up is reopened at once. One that never came up (the peer's address refuses
// our handshake: it does not know us yet, or it is not the peer at all) is reopened after a
// backoff that doubles per attempt; its failure and its disconnection count as one attempt.
void PeerTable::schedule_relink(Peer& peer) {
  if (std::exchange(peer.link_up, false)) {
    peer.relink_at_ms = now();
  } else if (peer.relink_at_ms == 0) {
    peer.relink_backoff_ms =
        std::clamp<int64_t>(peer.relink_backoff_ms * 2, kRelinkInitialMs, kRelinkMaxMs);
    peer.relink_at_ms = now() + peer.relink_backoff_ms;
  }
  lower(peer);
}

void PeerTable::relink(Peer& peer) {
  peer.relink_at_ms = 0;
  counters_.add(Counter::relinks);
  links_.disconnect(peer.info.fingerprint);
  if (links_.connect(peer.info.fingerprint, peer.info.endpoint, peer.info.transport_key).is_ok()) {
    peer.hello_pending = true;
  }
}

void PeerTable::greet(Peer& peer) {
  peer.hello_pending = !links_.send_hello(peer);
  if (!peer.hello_pending) peer.last_sent_ms = now();
}

void PeerTable::keep_alive(Peer& peer, int64_t now_ms, bool heartbeats) {
  if (peer.hello_pending) {
    greet(peer);
  } else if (now_ms - peer.last_sent_ms >= options_.heartbeat_ms) {
    if (!heartbeats) {
      heartbeats_held_ = true;
    } else if (links_.send_heartbeat(peer.info.fingerprint)) {
      peer.last_sent_ms = now_ms;
    }
  }
}

void PeerTable::tick(bool heartbeats) {
  const int64_t now_ms = now();
  heartbeats_held_ = false;
  const bool due = now_ms >= earliest_ms_;
  // Links need their heartbeats and idle checks every round; without links and with nothing
  // due, there is nothing to walk for.
  if (!due && links_.link_count() == 0) return;
  // Set anew from every peer as the walk passes it; what the walk's callbacks change lowers it
  // as usual.
  if (due) earliest_ms_ = std::numeric_limits<int64_t>::max();
  for (auto& [fingerprint, peer] : peers_) {
    if (due) {
      if (peer.liveness.tick(now_ms)) changed(peer);
      if (peer.relink_at_ms != 0 && now_ms >= peer.relink_at_ms) relink(peer);
      lower(peer);
    }
    if (!links_.has_link(fingerprint)) continue;
    if (idle_link(peer, now_ms)) {
      close_link(peer);
    } else {
      keep_alive(peer, now_ms, heartbeats);
    }
  }
}

void PeerTable::changed(Peer& peer) {
  counters_.add(Counter::peer_state_changes);
  if (on_change_) on_change_(peer);
}

void PeerTable::introduce(const std::string& fingerprint) {
  Peer* peer = find(fingerprint);
  if (peer == nullptr) return;
  peer->known = true;
  peer->keep_link = links_.wants_link(fingerprint);
  // At once, ahead of whatever we send it next: the first text names its author. A co-member
  // without a link learns our name from the Hello that opens the next one.
  if (links_.has_link(fingerprint)) {
    greet(*peer);
  } else if (peer->keep_link && !peer->info.endpoint.empty()) {
    open_link(*peer, peer->info.endpoint);
  }
}

void PeerTable::bind_key(const Bytes& key, const std::string& fingerprint) {
  if (std::erase_if(key_owner_, [&](const auto& b) { return b.second == fingerprint; }) > 0) {
    counters_.add(Counter::identity_key_rebound);  // the same identity, now with another key
  }
  key_owner_[key] = fingerprint;
  counters_.add(Counter::transport_keys_proved);
  // Proofs for identities with no peer entry (their beacon claim was evicted, or never came)
  // credit nothing: when strangers have piled them up, they go.
  if (key_owner_.size() > 4 * options_.max_peers) {
    std::erase_if(key_owner_, [&](const auto& b) { return !peers_.contains(b.second); });
  }
  std::vector<std::string> claimants;
  for (const auto& [other, peer] : peers_) {
    if (other != fingerprint && peer.info.transport_key == key) claimants.push_back(other);
  }
  for (const auto& other : claimants) {
    counters_.add(Counter::beacon_claims_refused);
    forget(other);
  }
}

const std::string* PeerTable::owner_of(const Bytes& key) const {
  auto it = key_owner_.find(key);
  return it == key_owner_.end() ? nullptr : &it->second;
}

PeerTable::Peer* PeerTable::find(const std::string& fingerprint) {
  auto it = peers_.find(fingerprint);
  return it == peers_.end() ? nullptr : &it->second;
}

const PeerTable::Peer* PeerTable::find(const std::string& fingerprint) const {
  auto it = peers_.find(fingerprint);
  return it == peers_.end() ? nullptr : &it->second;
}

PeerTable::Peer* PeerTable::at_endpoint(const std::string& endpoint) {
  return const_cast<Peer*>(std::as_const(*this).at_endpoint(endpoint));
}

const PeerTable::Peer* PeerTable::at_endpoint(const std::string& endpoint) const {
  auto it = by_endpoint_.lower_bound({endpoint, std::string()});
  if (it == by_endpoint_.end() || it->first != endpoint) return nullptr;
  return find(it->second);
}

void PeerTable::set_endpoint(Peer& peer, const std::string& endpoint) {
  if (peer.info.endpoint == endpoint) return;
  by_endpoint_.erase({peer.info.endpoint, peer.info.fingerprint});
  peer.info.endpoint = endpoint;
  if (!endpoint.empty()) by_endpoint_.insert({endpoint, peer.info.fingerprint});
}

PeerInfo PeerTable::snapshot(const Peer& peer) const {
  PeerInfo info = peer.info;
  info.state = peer.liveness.state();
  info.silent_ms = now() - peer.liveness.last_heard_ms();
  return info;
}

std::vector<PeerInfo> PeerTable::list() const {
  std::vector<PeerInfo> out;
  for (const auto& [fingerprint, peer] : peers_) out.push_back(snapshot(peer));
  return out;
}

}  // namespace sotto::core
