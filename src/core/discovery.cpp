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

bool valid_name(const std::string& name) {
  if (name.size() > Account::kMaxNameBytes) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

struct Discovery::Configured {
  PeerSpec spec;
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
      last_reply_ms_(kMaxReplySources),
      source_limits_(kMaxReplySources),
      verified_beacons_(kVerifiedBeaconCache) {
  for (const PeerSpec& spec : options_.peers) configured_.push_back({spec, std::nullopt});
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
  SOTTO_ASSIGN_OR_RETURN(broadcast_, net::BroadcastBeacon::open(
                                         interface, port, poller_, [this](net::Datagram datagram) {
                                           on_beacon(std::move(datagram), false);
                                         }));
  return Status::ok();
}

Status Discovery::bind_unicast(const std::string& host, uint16_t port) {
  SOTTO_ASSIGN_OR_RETURN(udp_, net::UdpSocket::bind(host, port));
  poller_.add_fd(udp_.fd(), [this] { on_udp(); });
  return Status::ok();
}

Status Discovery::announce(uint16_t port) {
  net::Beacon own;
  own.port = port;
  own.transport_key = account_.transport_public();
  own.identity_key = account_.identity_key();
  SOTTO_ASSIGN_OR_RETURN(net::Beacon announce,
                         net::sign_beacon(own, AccountInternals::signal(account_)));
  beacon_ = net::encode_beacon(announce);
  own.reply = true;
  SOTTO_ASSIGN_OR_RETURN(net::Beacon reply,
                         net::sign_beacon(own, AccountInternals::signal(account_)));
  reply_beacon_ = net::encode_beacon(reply);
  if (broadcast_) {
    broadcast_->publish(sealer_ ? sealer_->seal(beacon_) : beacon_, options_.beacon_interval_ms);
  }
  return Status::ok();
}

void Discovery::on_udp() {
  for (int i = 0; i < 64; ++i) {
    auto received = udp_.receive();
    if (!received.is_ok() || !received.value()) return;
    if (received.value()->data.size() > net::UdpSocket::kMaxDatagram) {
      count(Counter::beacon_dropped_size);
      continue;
    }
    on_beacon(std::move(*received.value()), true);
  }
}

void Discovery::send_beacon(const std::string& host, uint16_t port, bool reply) {
  const Bytes& plain = reply ? reply_beacon_ : beacon_;
  Status sent = udp_.send_to(host, port, sealer_ ? sealer_->seal(plain) : plain);
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
  count(Counter::beacons_received);
  if (!source_allowed(datagram.from_address)) {
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
  const std::string endpoint = "tcp://" + datagram.from_address + ":" + std::to_string(b.port);
  const bool configured = unicast && configured_for(datagram.from_address, b.port) != nullptr;
  if (peers_.on_beacon(fp, b.identity_key, b.transport_key, endpoint, configured) == nullptr) {
    return;
  }
  if (!b.reply && should_reply(datagram.from_address, b.port)) {
    send_beacon(datagram.from_address, b.port, true);
  }
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
  if (const Configured* c = configured_for(datagram.from_address, b.port);
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
  for (auto& c : configured_) {
    if (peers_.online_at(c.spec.endpoint()) ||
        (c.last_probe_ms && now_ms - *c.last_probe_ms < options_.beacon_interval_ms)) {
      continue;
    }
    c.last_probe_ms = now_ms;
    send_beacon(c.spec.host, c.spec.port, false);
  }
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
  peer.info.name_digest.assign(hello.name_digest().begin(), hello.name_digest().end());
  return changed;
}

}  // namespace sotto::core
