#include "src/core/discovery.h"
#include "src/core/account_internals.h"

#include <algorithm>

#include "sotto/crypto/signal_engine.h"
#include "src/net/hello.h"

namespace sotto::core {
namespace {

constexpr int64_t kReplyIntervalMs = 500;  // at most one unicast answer per source and interval
constexpr size_t kMaxReplySources = 1024;
// Beacons per second per source address: spoofable, so a first filter only, before the
// signature; the signature budget and the per-identity limit (PeerTable) stand behind it.
constexpr double kBeaconsPerSource = 20;
constexpr double kBeaconBurst = 40;
// Recently verified beacons, byte for byte: a repeat needs no second signature check, so a
// known peer's beacons keep its liveness even while forged ones exhaust the check budget.
constexpr size_t kVerifiedBeaconCache = 4096;
// Signature checks asked of us by the network (beacons, Hellos), from everyone together: each
// costs ~0.1 ms, so this caps what a flood of forged ones can take from the loop (~5 %).
constexpr double kSignatureChecksPerS = 500;
constexpr double kSignatureCheckBurst = 1000;
// Answers to beacons, from everyone together: each is a signature of ours (~0.1 ms). A LAN's
// worth of new peers at once is a burst; a flood of fresh identities gets no more than this.
constexpr double kAnswersPerS = 50;
constexpr double kAnswerBurst = 500;
// An echo of our challenge counts this long after we sent it; a LAN answers in milliseconds.
constexpr int64_t kChallengeTimeoutMs = 5000;
constexpr int64_t kDeferredReadMs = 1000;

uint64_t random_nonce() {
  uint64_t nonce = 0;
  while (nonce == 0) {
    const Bytes bytes = crypto::random_bytes(sizeof nonce);
    for (uint8_t b : bytes) nonce = (nonce << 8) | b;
  }
  return nonce;
}

bool valid_name(const std::string& name) {
  if (name.size() > Account::kMaxNameBytes) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

struct Discovery::Configured {
  explicit Configured(PeerSpec s) : spec(std::move(s)), endpoint(spec.endpoint()) {}
  PeerSpec spec;
  std::string endpoint;                  // spec's, formatted once: its peer is looked up by it
  std::optional<int64_t> last_probe_ms;  // none yet: probe at once
};

Discovery::Discovery(DiscoveryOptions options, Account& account, const Clock& clock,
                     net::Poller& poller, PeerTable& peers, Counters& counters)
    : options_(std::move(options)),
      account_(account),
      clock_(clock),
      poller_(poller),
      peers_(peers),
      counters_(counters),
      signature_checks_(kSignatureChecksPerS, kSignatureCheckBurst, 0),
      answers_(kAnswersPerS, kAnswerBurst, 0),
      last_reply_ms_(kMaxReplySources),
      source_limits_(kMaxReplySources),
      verified_beacons_(kVerifiedBeaconCache) {
  for (const PeerSpec& spec : options_.peers) configured_.emplace_back(spec);
  if (configured_.empty()) next_probe_ms_ = INT64_MAX;
}

bool Discovery::add_peer(const PeerSpec& spec) {
  // Each costs a probe per interval while its host stays away: a few mailboxes, not a LAN.
  constexpr size_t kMaxAddedPeers = 64;
  if (configured_.size() >= options_.peers.size() + kMaxAddedPeers) return false;
  for (const auto& c : configured_) {
    if (c.spec.host == spec.host && c.spec.port == spec.port) return false;
  }
  configured_.emplace_back(spec);
  next_probe_ms_ = 0;  // a new host is probed at once
  return true;
}

Discovery::~Discovery() {
  broadcast_.reset();
  if (udp_.fd() >= 0) poller_.remove_fd(udp_.fd());
}

Result<std::unique_ptr<Discovery>> Discovery::create(DiscoveryOptions options, Account& account,
                                                     const Clock& clock, net::Poller& poller,
                                                     PeerTable& peers, Counters& counters) {
  std::optional<net::BeaconSealer> sealer;
  if (options.network_key) {
    if (options.network_key->empty()) {
      return Status::invalid_argument("the network key file is empty");
    }
    sealer = net::BeaconSealer::from_secret(options.network_key->view());
  }
  std::unique_ptr<Discovery> discovery(
      new Discovery(std::move(options), account, clock, poller, peers, counters));
  discovery->sealer_ = std::move(sealer);
  return discovery;
}

Status Discovery::open_broadcast(const std::string& interface, uint16_t port) {
  SOTTO_ASSIGN_OR_RETURN(broadcast_, net::BroadcastBeacon::open(interface, port, poller_,
                                                                [this](net::Datagram datagram) {
                                                                  on_broadcast(std::move(datagram));
                                                                }));
  return Status::ok();
}

Status Discovery::bind_unicast(const std::string& host, uint16_t port) {
  SOTTO_ASSIGN_OR_RETURN(udp_, net::UdpSocket::bind(host, port));
  poller_.add_fd(udp_.fd(), [this] { on_udp(); });
  return Status::ok();
}

Status Discovery::announce(uint16_t port) {
  own_.port = port;
  own_.transport_key = account_.transport_public();
  own_.identity_key = account_.identity_key();
  started_ms_ = now();
  sent_at_base_ms_ = clock_.wall_ms();
  interval_ms_ = options_.beacon_interval_ms;
  next_broadcast_ms_ = now();  // the first at once, on the loop's first round
  // Signed once now, so a key that cannot sign fails the start rather than every beacon.
  return net::sign_beacon(own_, AccountInternals::signal(account_)).status();
}

Bytes Discovery::signed_beacon(bool reply, uint64_t echo, uint64_t nonce) {
  net::Beacon beacon = own_;
  beacon.reply = reply;
  beacon.interval_ms = static_cast<uint32_t>(interval_ms_);
  beacon.sent_at_ms = static_cast<uint64_t>(sent_at_base_ms_ + (now() - started_ms_));
  beacon.echo = echo;
  beacon.nonce = nonce;
  auto signed_one = net::sign_beacon(beacon, AccountInternals::signal(account_));
  if (!signed_one.is_ok()) {
    count(Counter::beacon_send_failed);
    return {};
  }
  const Bytes plain = net::encode_beacon(signed_one.value());
  return sealer_ ? sealer_->seal(plain) : plain;
}

void Discovery::broadcast_now() {
  // A whole interval without a change: the next beacon may come later (doubling up to the max).
  if (!changed_)
    interval_ms_ = std::min<int64_t>(interval_ms_ * 2, options_.beacon_interval_max_ms);
  changed_ = false;
  const Bytes beacon = signed_beacon(false, 0, 0);
  last_broadcast_ms_ = now();
  next_broadcast_ms_ = now() + interval_ms_;
  if (beacon.empty()) return;
  const bool sent = broadcast_->send(beacon).is_ok();
  count(sent ? Counter::beacons_sent : Counter::beacon_send_failed);
  if (sent) last_broadcast_ = beacon;
}

void Discovery::quicken() {
  changed_ = true;
  interval_ms_ = options_.beacon_interval_ms;
  if (next_broadcast_ms_ != 0) {
    next_broadcast_ms_ = std::min(next_broadcast_ms_, last_broadcast_ms_ + interval_ms_);
  }
}

int64_t Discovery::next_deadline_ms() const {
  int64_t next = INT64_MAX;
  if (broadcast_ && next_broadcast_ms_ != 0) next = next_broadcast_ms_;
  if (next_deferred_read_ms_ != 0) next = std::min(next, next_deferred_read_ms_);
  return std::min(next, next_probe_ms_);
}

void Discovery::on_udp() {
  for (int i = 0; i < 64; ++i) {
    auto received = udp_.receive();
    if (!received.is_ok() || !received.value()) return;
    on_beacon(std::move(*received.value()), true);
  }
}

void Discovery::on_broadcast(net::Datagram datagram) {
  // Ours, back from the interface: byte for byte what we sent, so nothing to check.
  if (datagram.data == last_broadcast_) {
    count(Counter::beacon_own_echo);
    return;
  }
  on_beacon(std::move(datagram), false);
}

void Discovery::send_beacon(const std::string& host, uint16_t port, const Bytes& beacon) {
  if (beacon.empty()) return;
  Status sent = udp_.send_to(host, port, beacon);
  count(sent.is_ok() ? Counter::beacons_sent : Counter::beacon_send_failed);
}

const Discovery::Configured* Discovery::configured_for(const std::string& host,
                                                       uint16_t port) const {
  for (const auto& c : configured_) {
    if (c.spec.host == host && c.spec.port == port) return &c;
  }
  return nullptr;
}

// Checking a beacon's signature costs ~0.1 ms; a host sending more than a few per second is
// flooding, and only its own beacons suffer.
bool Discovery::source_allowed(const std::string& source) {
  return source_limits_
      .use(source, now(), [&] { return RateLimit(kBeaconsPerSource, kBeaconBurst, now()); })
      .take(now());
}

std::optional<Bytes> Discovery::open_seal(net::Datagram& datagram) {
  if (!sealer_) return std::move(datagram.data);
  auto opened = sealer_->open(datagram.data);
  if (!opened.is_ok()) {
    count(dropped(net::BeaconDrop::kSeal));
    return std::nullopt;
  }
  return std::move(opened).value();
}

void Discovery::on_beacon(net::Datagram datagram, bool unicast) {
  // Cut to kMaxDatagram + 1 bytes by the socket (net/udp_socket.h): no beacon is that long.
  if (datagram.data.size() > net::UdpSocket::kMaxDatagram) {
    count(Counter::beacon_dropped_size);
    return;
  }
  count(Counter::beacons_received);
  const std::string from = datagram.from_address();
  if (!source_allowed(from)) {
    count(Counter::beacon_dropped_rate_limit);
    return;
  }
  std::optional<Bytes> plain = open_seal(datagram);
  if (!plain) return;
  const bool verified_before = verified_beacons_.find(*plain) != nullptr;
  if (!verified_before && !signature_checks_.take(now())) {
    count(Counter::beacon_dropped_busy);
    return;
  }
  net::BeaconDrop drop{};
  auto decoded = net::decode_beacon(*plain, &drop, !verified_before);
  if (!decoded.is_ok()) {
    count(dropped(drop));
    return;
  }
  verified_beacons_.use(*plain, now(), [] { return true; });
  const net::Beacon& b = decoded.value();
  const std::string fp = crypto::fingerprint_of(b.identity_key);
  if (!claim_allowed(b, fp, datagram, unicast)) return;
  const std::string endpoint = "tcp://" + from + ":" + std::to_string(b.port);
  const bool configured = unicast && configured_for(from, b.port) != nullptr;
  const PeerTable::Peer* before = peers_.find(fp);
  const bool is_new = before == nullptr;
  const std::string old_endpoint = is_new ? std::string() : before->info.endpoint;
  const bool live = prove_live(b, fp);
  PeerTable::Peer* peer =
      peers_.on_beacon(fp, b.identity_key, b.transport_key, endpoint, configured, live);
  if (peer == nullptr) return;
  if (is_new) quicken();
  if (live) peers_.on_live_beacon(*peer, b.interval_ms);
  const bool need_proof = !live && !peer->liveness.is_online();
  const bool moved = !is_new && peer->info.endpoint != old_endpoint;
  // A reply is answered only with what it asks for (an echo) or what we need (a proof), so two
  // nodes never answer each other for ever: each exchange ends once both proved the other.
  if (b.nonce != 0 || need_proof || (!b.reply && moved)) answer(b, *peer, datagram, need_proof);
}

bool Discovery::prove_live(const net::Beacon& b, const std::string& fp) {
  PeerTable::Peer* peer = peers_.find(fp);
  if (peer == nullptr) return false;
  if (b.echo != 0) {
    if (peer->challenge == b.echo && now() - peer->challenged_at_ms < kChallengeTimeoutMs) {
      peer->challenge = 0;
      peer->freshness.anchor(now(), b.sent_at_ms);
      count(Counter::beacon_proofs);
      return true;
    }
    count(Counter::beacon_echo_unmatched);
  }
  if (peer->freshness.live(now(), b.sent_at_ms)) return true;
  if (peer->freshness.anchored()) count(Counter::beacon_stale);
  return false;
}

void Discovery::answer(const net::Beacon& b, PeerTable::Peer& peer, const net::Datagram& datagram,
                       bool need_proof) {
  // An echo is owed to whoever challenged us, at once: the exchange that proves two nodes to
  // each other is three beacons in a row to the same address. The per-identity limit (in
  // claim_allowed) and the answer budget bound it.
  if (b.nonce == 0 && !should_reply(datagram.from_address(), b.port)) return;
  if (!answers_.take(now())) {
    count(Counter::beacon_reply_suppressed);
    return;
  }
  send_beacon(datagram.from_address(), b.port,
              signed_beacon(true, b.nonce, need_proof ? challenge(peer) : 0));
}

uint64_t Discovery::challenge(PeerTable::Peer& peer) {
  // One challenge at a time: a second would make the echo of the first arrive unmatched.
  if (peer.challenge == 0 || now() - peer.challenged_at_ms >= kChallengeTimeoutMs) {
    peer.challenge = random_nonce();
    peer.challenged_at_ms = now();
  }
  return peer.challenge;
}

int64_t Discovery::probe_due_ms(const Configured& c, const PeerTable::Peer* peer) const {
  int64_t due = c.last_probe_ms ? *c.last_probe_ms + options_.beacon_interval_ms : 0;
  if (peer != nullptr) {
    const int64_t traffic_ms = peer->liveness.last_traffic_ms();
    if (traffic_ms != 0) {
      due = std::max(due, traffic_ms + options_.heartbeat_ms + options_.beacon_interval_ms);
    }
  }
  return due;
}

int64_t Discovery::probe(Configured& c) {
  const int64_t now_ms = now();
  PeerTable::Peer* peer = peers_.at_endpoint(c.endpoint);
  if (const int64_t due = probe_due_ms(c, peer); now_ms < due) return due;
  c.last_probe_ms = now_ms;
  send_beacon(c.spec.host, c.spec.port, signed_beacon(false, 0, peer ? challenge(*peer) : 0));
  return probe_due_ms(c, peer);
}

// A verified beacon is still only a claim: checked against what we already know.
bool Discovery::claim_allowed(const net::Beacon& b, const std::string& fp,
                              const net::Datagram& datagram, bool unicast) {
  if (PeerTable::Peer* known = peers_.find(fp); known != nullptr && !known->beacons.take(now())) {
    count(Counter::beacon_dropped_identity_rate);
    return false;
  }
  if (fp == account_.fingerprint()) {
    count(Counter::beacon_own_echo);
    return false;
  }
  // Our unicast socket shares the TCP port's number; so does every honest sender's.
  if (unicast && datagram.from_port != b.port) {
    count(Counter::beacon_dropped_port_mismatch);
    return false;
  }
  if (const Configured* c = configured_for(datagram.from_address(), b.port);
      c != nullptr && c->spec.pinned_key && *c->spec.pinned_key != b.transport_key) {
    count(Counter::beacon_dropped_pin_mismatch);
    return false;
  }
  // A key is one identity's: ours is never anyone else's, and one proved by a signed Hello is
  // not taken over by a beacon that merely claims it.
  if (b.transport_key == account_.transport_public()) {
    count(Counter::beacon_dropped_own_key);
    return false;
  }
  if (const std::string* owner = peers_.owner_of(b.transport_key);
      owner != nullptr && *owner != fp) {
    count(Counter::beacon_dropped_key_bound);
    return false;
  }
  return true;
}

bool Discovery::should_reply(const std::string& host, uint16_t port) {
  const std::string key = host + ":" + std::to_string(port);
  const int64_t* last = last_reply_ms_.find(key);
  if (last != nullptr && now() - *last < kReplyIntervalMs) {
    count(Counter::beacon_reply_suppressed);
    return false;
  }
  last_reply_ms_.use(key, now(), [] { return int64_t{0}; }) = now();
  return true;
}

void Discovery::tick() {
  const int64_t now_ms = now();
  if (broadcast_ && next_broadcast_ms_ != 0 && now_ms >= next_broadcast_ms_) broadcast_now();
  read_beacons_if_stable();
  // Each probe's own due time, never an earlier one: a peer sending traffic is not probed, and a
  // deadline that passed without a probe would make the loop wait for nothing, every round.
  next_probe_ms_ = INT64_MAX;
  for (auto& c : configured_) next_probe_ms_ = std::min(next_probe_ms_, probe(c));
}

void Discovery::read_beacons_if_stable() {
  if (!broadcast_) return;
  const bool stable = interval_ms_ >= options_.beacon_interval_max_ms && !changed_;
  if (!stable) {
    if (next_deferred_read_ms_ != 0) broadcast_->defer(false);
    next_deferred_read_ms_ = 0;
    return;
  }
  if (next_deferred_read_ms_ == 0) broadcast_->defer(true);
  if (now() < next_deferred_read_ms_) return;
  next_deferred_read_ms_ = now() + kDeferredReadMs;
  broadcast_->take_waiting();
}

std::optional<std::string> Discovery::prove(const Bytes& key, const wire::Hello& hello) {
  if (!signature_checks_.take(now())) {
    count(Counter::hello_dropped_rate_limit);
    return std::nullopt;
  }
  auto identity = net::check_hello(hello, key, account_.transport_public());
  if (!identity.is_ok()) {
    count(Counter::hello_dropped_signature);
    return std::nullopt;
  }
  std::string fp = crypto::fingerprint_of(identity.value());
  if (fp == account_.fingerprint()) {
    count(Counter::hello_dropped_own_identity);
    return std::nullopt;
  }
  peers_.bind_key(key, fp);
  return fp;
}

bool Discovery::on_hello(const Bytes& key, PeerTable::Peer& peer, const wire::Hello& hello) {
  if (!peer.hellos.take(now()) || !signature_checks_.take(now())) {
    count(Counter::hello_dropped_rate_limit);
    return false;
  }
  auto identity = net::check_hello(hello, key, account_.transport_public());
  if (!identity.is_ok() || crypto::fingerprint_of(identity.value()) != peer.info.fingerprint) {
    count(Counter::hello_dropped_signature);
    return false;
  }
  bool changed = false;
  if (!hello.name().empty() && !valid_name(hello.name())) {
    count(Counter::hello_dropped_name);
  } else if (peer.info.name != hello.name()) {
    // A display name, never an identity: it changes nothing about any contact.
    peer.info.name = hello.name();
    changed = true;
  }
  // A new digest is news too: an add by name may be waiting for it (ContactBook).
  Bytes digest(hello.name_digest().begin(), hello.name_digest().end());
  if (peer.info.name_digest != digest) {
    peer.info.name_digest = std::move(digest);
    changed = true;
  }
  return changed;
}

}  // namespace sotto::core
