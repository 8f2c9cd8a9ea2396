#include "sotto/core/node.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <thread>

#include "sotto/core/json.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/net/beacon.h"
#include "sotto/net/broadcast_beacon.h"
#include "sotto/net/poller.h"
#include "sotto/net/transport.h"
#include "sotto/net/udp_socket.h"
#include "sotto/net/zmq_socket.h"
#include "sotto/voice/audio_device.h"
#include "sotto/voice/opus_codec.h"
#include "src/core/archive_service.h"
#include "src/core/clip_player.h"
#include "src/core/control_server.h"
#include "src/core/messenger.h"
#include "src/core/recent_table.h"
#include "src/core/voice_engine.h"
#include "src/net/hello.h"
#include "src/net/wire.h"

#include <nlohmann/json.hpp>

namespace sotto::core {
namespace {

constexpr size_t kMaxNameBytes = Account::kMaxNameBytes;
constexpr int64_t kReplyIntervalMs = 500;  // at most one unicast answer per source and interval
constexpr size_t kMaxReplySources = 1024;
constexpr int kBindAttempts = 16;
// Beacons per second per source address (spoofable: a first filter only, before the signature)
// and per identity (after it). Honest nodes send one a second, plus replies.
constexpr double kBeaconsPerSource = 20;
constexpr double kBeaconBurst = 40;
constexpr double kBeaconsPerIdentity = 10;
constexpr double kBeaconsPerIdentityBurst = 20;
// Recently verified beacons, byte for byte: a repeat needs no second signature check, so a
// known peer's beacons keep its liveness even while forged ones exhaust the check budget.
constexpr size_t kVerifiedBeaconCache = 4096;
constexpr int64_t kRelinkInitialMs = 50;
constexpr int64_t kRelinkMaxMs = 5000;
// Signature checks asked of us by the network (beacons, Hellos), from everyone together: each
// costs ~0.1 ms, so this caps what a flood of forged ones can take from the loop (~5 %).
constexpr double kSignatureChecksPerS = 500;
constexpr double kSignatureCheckBurst = 1000;
// Hellos from one bound peer: one per connection is all an honest node sends.
constexpr double kHellosPerPeerPerS = 1;
constexpr double kHelloBurst = 4;
// How often our DEALERs are drained of what servers pushed (they hold at most a few messages).
constexpr int64_t kLinkDrainIntervalMs = 1000;

bool valid_name(const std::string& name) {
  if (name.size() > kMaxNameBytes) return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Splits "tcp://HOST:PORT" into its parts.
Result<std::pair<std::string, uint16_t>> parse_tcp_endpoint(const std::string& text) {
  const std::string prefix = "tcp://";
  if (text.rfind(prefix, 0) != 0)
    return Status::invalid_argument("expected tcp://HOST:PORT: " + text);
  const std::string rest = text.substr(prefix.size());
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::invalid_argument("expected tcp://HOST:PORT: " + text);
  }
  const std::string host = rest.substr(0, colon);
  const std::string port_text = rest.substr(colon + 1);
  if (port_text == "*") return std::make_pair(host, uint16_t{0});
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(), ::isdigit)) {
    return Status::invalid_argument("bad port in " + text);
  }
  const int port = std::stoi(port_text);
  if (port > 65535) return Status::invalid_argument("bad port in " + text);
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// A token bucket: `rate` tokens per second, at most `burst` saved up.
class RateLimit {
 public:
  RateLimit(double rate, double burst, int64_t now_ms)
      : rate_(rate), burst_(burst), tokens_(burst), last_ms_(now_ms) {}
  bool take(int64_t now_ms) {
    tokens_ = std::min(burst_, tokens_ + (now_ms - last_ms_) * rate_ / 1000.0);
    last_ms_ = now_ms;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  int64_t last_ms_;
};

}  // namespace

Result<PeerSpec> PeerSpec::parse(const std::string& text) {
  PeerSpec spec;
  std::string endpoint = text;
  const auto hash = text.find('#');
  if (hash != std::string::npos) {
    endpoint = text.substr(0, hash);
    auto key = from_z85(text.substr(hash + 1));
    if (!key || key->size() != 32) {
      return Status::invalid_argument("bad pinned key in " + text +
                                      " (want 40 Z85 characters, as `sotto id` prints)");
    }
    spec.pinned_key = std::move(*key);
  }
  SOTTO_ASSIGN_OR_RETURN(auto parts, parse_tcp_endpoint(endpoint));
  if (!net::is_ipv4_address(parts.first)) {
    return Status::invalid_argument(
        "peer host must be an IPv4 address (sotto never resolves "
        "names): " +
        text);
  }
  if (parts.second == 0) return Status::invalid_argument("peer port must not be 0: " + text);
  spec.host = parts.first;
  spec.port = parts.second;
  return spec;
}

// --- the node's state, owned by the loop thread -------------------------------------------------

struct Node::Impl {
  struct Peer {
    PeerInfo info;
    net::PeerLiveness liveness;
    RateLimit inbound;   // a contact or co-member
    RateLimit stranger;  // anyone else: a first message, a bundle request, little more
    RateLimit hellos;
    RateLimit beacons;
    bool known = false;  // a contact or co-member (as of our last Hello to it)
    int64_t last_sent_ms = 0;
    bool hello_pending = false;
    // A refused handshake (often: our link reached the peer before it had our beacon) is not
    // retried by libzmq; the node reopens the link itself, with backoff.
    int64_t relink_at_ms = 0;
    int64_t relink_backoff_ms = 0;
    bool link_up = false;  // the current link completed its handshake
    // A new connection since the peer was last online: frames queued on the old one may be
    // lost, so the outbox starts over. A peer merely quiet for a while (evasive) keeps its place.
    bool link_fresh = false;
  };
  struct Configured {
    PeerSpec spec;
    std::optional<int64_t> last_probe_ms;  // none yet: probe at once
  };

  Impl(Account& a, NodeOptions o, const Clock& c)
      : account(a),
        options(std::move(o)),
        clock(c),
        frame_budget(options.frames_per_s_total, options.frames_per_s_total, 0) {}

  Account& account;
  NodeOptions options;
  const Clock& clock;
  net::ZmqContext context;
  net::Poller poller;
  std::unique_ptr<net::Transport> transport;
  net::UdpSocket udp;
  std::unique_ptr<net::BroadcastBeacon> broadcast;
  std::optional<net::BeaconSealer> sealer;
  Bytes beacon;        // our beacon, encoded
  Bytes reply_beacon;  // the same with the reply flag
  std::string bind_host;
  std::map<std::string, Peer> peers;
  // Transport key -> the identity that proved it holds it (a signed Hello over a connection
  // authenticated with that key). Only these keys' frames are credited to anyone.
  std::map<Bytes, std::string> key_owner;
  RateLimit signature_checks{kSignatureChecksPerS, kSignatureCheckBurst, 0};
  RateLimit frame_budget;  // every peer's frames together

  int64_t drain_at_ms = 0;
  std::vector<Configured> configured;
  RecentTable<std::string, int64_t> last_reply_ms{kMaxReplySources};
  RecentTable<std::string, RateLimit> beacon_limits{kMaxReplySources};
  RecentTable<Bytes, bool> verified_beacons{kVerifiedBeaconCache};
  Counters counters;
  std::vector<std::weak_ptr<EventQueue>> subscribers;
  std::unique_ptr<ControlServer> control;
  std::string control_path;
  std::unique_ptr<Messenger> messenger;
  std::unique_ptr<VoiceEngine> voice;
  std::unique_ptr<ArchiveService> archive;  // search and export; made on first use

  int wake_fd = -1;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> running{false};
  std::atomic<std::thread::id> loop_thread;
  // Held by a call that runs on the caller's thread because the loop is not running, and by the
  // loop while it starts and stops: a call made while run() is starting on another thread either
  // finishes before the loop's first round or is queued for it, never runs beside it.
  std::recursive_mutex direct_mutex;
  std::mutex tasks_mutex;
  std::deque<std::function<void()>> tasks;

  ~Impl() {
    archive.reset();    // an unfinished export removes its files
    voice.reset();      // a transmission in progress answers its caller first
    messenger.reset();  // pending replies die with it, before the socket they would use
    control.reset();
    broadcast.reset();
    transport.reset();
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void count(Counter counter, uint64_t n = 1) { counters.add(counter, n); }
  int64_t now() const { return clock.now_ms(); }

  // --- set-up -----------------------------------------------------------------------------------

  Status start() {
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) return Status::io_error("creating wake-up fd");
    poller.add_fd(wake_fd, [this] {
      uint64_t value = 0;
      (void)!::read(wake_fd, &value, sizeof value);
    });
    if (options.network_key) {
      if (options.network_key->empty())
        return Status::invalid_argument("the network key file is empty");
      sealer = net::BeaconSealer::from_secret(options.network_key->view());
    }
    for (const PeerSpec& spec : options.peers) configured.push_back({spec, std::nullopt});
    if (options.discovery) {
      SOTTO_ASSIGN_OR_RETURN(
          broadcast, net::BroadcastBeacon::open(options.interface, options.beacon_port, poller,
                                                [this](net::Datagram datagram) {
                                                  on_beacon(std::move(datagram), false);
                                                }));
    }
    SOTTO_RETURN_IF_ERROR(bind_sockets());
    SOTTO_RETURN_IF_ERROR(make_beacons());
    if (broadcast) broadcast->publish(seal_for_broadcast(), options.beacon_interval_ms);
    messenger = std::make_unique<Messenger>(
        account, clock, MessengerOptions{options.accept_unknown}, make_messenger_hooks());
    SOTTO_RETURN_IF_ERROR(messenger->start());
    VoiceOptions voice_options;
    voice_options.frame_ms = options.voice_frame_ms;
    voice_options.bitrate_bps = options.voice_bitrate_bps;
    voice_options.audio_out = options.audio_out;
    voice_options.audio_in = options.audio_in;
    voice_options.trace = options.voice_trace;
    voice = std::make_unique<VoiceEngine>(account.fingerprint(), clock, std::move(voice_options),
                                          make_voice_hooks());
    SOTTO_RETURN_IF_ERROR(voice->start().with_context("--audio-out"));
    if (options.control_socket) {
      control_path = account.profile().dir() + "/control.sock";
      SOTTO_ASSIGN_OR_RETURN(
          control, ControlServer::start(context, poller, control_path, make_control_handlers()));
    }
    return Status::ok();
  }

  Status bind_sockets() {
    uint16_t port = 0;
    if (!options.listen.empty()) {
      SOTTO_ASSIGN_OR_RETURN(auto parts, parse_tcp_endpoint(options.listen));
      bind_host = parts.first;
      port = parts.second;
    } else if (!options.interface.empty()) {
      SOTTO_ASSIGN_OR_RETURN(bind_host, net::interface_ipv4(options.interface));
    } else if (broadcast) {
      // Where discovery found the LAN: the one address peers are told about, not every
      // interface the machine has (one of which may face another network).
      bind_host = broadcast->host();
    } else {
      return Status::invalid_argument(
          "say where to listen: --listen tcp://ADDRESS:PORT or --interface IF (sotto does not "
          "listen on every interface)");
    }
    if (bind_host == "*") bind_host = "0.0.0.0";
    if (!net::is_ipv4_address(bind_host)) {
      return Status::invalid_argument("listen address must be an IPv4 address: " + bind_host);
    }
    net::TransportOptions transport_options;
    transport_options.bind_address = bind_host;
    net::Transport::Callbacks callbacks;
    callbacks.on_frame = [this](const Bytes& key, Bytes frame) { on_frame(key, frame); };
    callbacks.on_link = [this](const std::string& fp, net::LinkEvent e) { on_link(fp, e); };
    // The unicast beacon socket needs the TCP port's number for UDP too; an ephemeral TCP port
    // may be taken for UDP, so try again with another.
    Status last = Status::ok();
    for (int attempt = 0; attempt < kBindAttempts; ++attempt) {
      transport_options.port = port;
      SOTTO_ASSIGN_OR_RETURN(
          transport,
          net::Transport::create(context, poller, transport_options, account.transport_public(),
                                 account.transport_secret(), callbacks));
      auto bound = net::UdpSocket::bind(bind_host, transport->port());
      if (bound.is_ok()) {
        udp = std::move(bound).value();
        poller.add_fd(udp.fd(), [this] { on_udp(); });
        return Status::ok();
      }
      last = bound.status();
      transport.reset();
      if (port != 0) break;
    }
    return last.with_context("binding the unicast beacon socket");
  }

  Status make_beacons() {
    net::Beacon own;
    own.port = transport->port();
    own.transport_key = account.transport_public();
    own.identity_key = account.identity_key();
    SOTTO_ASSIGN_OR_RETURN(net::Beacon announce, net::sign_beacon(own, account.signal()));
    beacon = net::encode_beacon(announce);
    own.reply = true;
    SOTTO_ASSIGN_OR_RETURN(net::Beacon reply, net::sign_beacon(own, account.signal()));
    reply_beacon = net::encode_beacon(reply);
    return Status::ok();
  }

  Bytes seal_for_broadcast() const { return sealer ? sealer->seal(beacon) : beacon; }

  // --- beacons
  // ------------------------------------------------------------------------------------

  void on_udp() {
    for (int i = 0; i < 64; ++i) {
      auto received = udp.receive();
      if (!received.is_ok() || !received.value()) return;
      if (received.value()->data.size() > net::UdpSocket::kMaxDatagram) {
        count(Counter::beacon_dropped_size);
        continue;
      }
      on_beacon(std::move(*received.value()), true);
    }
  }

  void send_beacon(const std::string& host, uint16_t port, bool reply) {
    const Bytes& plain = reply ? reply_beacon : beacon;
    Status sent = udp.send_to(host, port, sealer ? sealer->seal(plain) : plain);
    count(sent.is_ok() ? Counter::beacons_sent : Counter::beacon_send_failed);
  }

  const Configured* configured_for(const std::string& host, uint16_t port) const {
    for (const auto& c : configured) {
      if (c.spec.host == host && c.spec.port == port) return &c;
    }
    return nullptr;
  }

  // Checking a beacon's signature costs ~0.1 ms; a host sending more than a few per second is
  // flooding, and only its own beacons suffer. The address can be forged, so this is a first
  // filter only: the signature budget and the per-identity limit stand behind it.
  bool beacon_allowed(const std::string& source) {
    return beacon_limits
        .use(source, now(), [&] { return RateLimit(kBeaconsPerSource, kBeaconBurst, now()); })
        .take(now());
  }

  void on_beacon(net::Datagram datagram, bool unicast) {
    count(Counter::beacons_received);
    if (!beacon_allowed(datagram.from_address)) {
      count(Counter::beacon_dropped_rate_limit);
      return;
    }
    Bytes plain;
    if (sealer) {
      auto opened = sealer->open(datagram.data);
      if (!opened.is_ok()) {
        count(dropped(net::BeaconDrop::kSeal));
        return;
      }
      plain = std::move(opened).value();
    } else {
      plain = std::move(datagram.data);
    }
    const bool verified_before = verified_beacons.find(plain) != nullptr;
    if (!verified_before && !signature_checks.take(now())) {
      count(Counter::beacon_dropped_busy);
      return;
    }
    net::BeaconDrop drop{};
    auto decoded = net::decode_beacon(plain, &drop, !verified_before);
    if (!decoded.is_ok()) {
      count(dropped(drop));
      return;
    }
    verified_beacons.use(plain, now(), [] { return true; });
    const net::Beacon& b = decoded.value();
    const std::string fp = crypto::fingerprint_of(b.identity_key);
    if (auto known = peers.find(fp); known != peers.end() && !known->second.beacons.take(now())) {
      count(Counter::beacon_dropped_identity_rate);
      return;
    }
    if (fp == account.fingerprint()) {
      count(Counter::beacon_own_echo);
      return;
    }
    // Our unicast socket shares the TCP port's number; so does every honest sender's.
    if (unicast && datagram.from_port != b.port) {
      count(Counter::beacon_dropped_port_mismatch);
      return;
    }
    if (const Configured* c = configured_for(datagram.from_address, b.port);
        c != nullptr && c->spec.pinned_key && *c->spec.pinned_key != b.transport_key) {
      count(Counter::beacon_dropped_pin_mismatch);
      return;
    }
    // A key is one identity's: ours is never anyone else's, and one proved by a signed Hello is
    // not taken over by a beacon that merely claims it.
    if (b.transport_key == account.transport_public()) {
      count(Counter::beacon_dropped_own_key);
      return;
    }
    if (auto owner = key_owner.find(b.transport_key);
        owner != key_owner.end() && owner->second != fp) {
      count(Counter::beacon_dropped_key_bound);
      return;
    }
    const std::string endpoint = "tcp://" + datagram.from_address + ":" + std::to_string(b.port);
    Peer* peer = upsert_peer(fp, b, endpoint, unicast ? &datagram.from_address : nullptr);
    if (peer == nullptr) return;
    if (!b.reply && should_reply(datagram.from_address, b.port)) {
      send_beacon(datagram.from_address, b.port, true);
    }
  }

  bool should_reply(const std::string& host, uint16_t port) {
    const std::string key = host + ":" + std::to_string(port);
    const int64_t* last = last_reply_ms.find(key);
    if (last != nullptr && now() - *last < kReplyIntervalMs) {
      count(Counter::beacon_reply_suppressed);
      return false;
    }
    last_reply_ms.use(key, now(), [] { return int64_t{0}; }) = now();
    return true;
  }

  Peer* upsert_peer(const std::string& fp, const net::Beacon& b, const std::string& endpoint,
                    const std::string* unicast_from) {
    auto it = peers.find(fp);
    if (it == peers.end()) {
      if (peers.size() >= options.max_peers && !evict_idle_peer()) {
        count(Counter::peer_table_full);
        return nullptr;
      }
      Peer peer{PeerInfo{},
                net::PeerLiveness(options.liveness, now()),
                RateLimit(options.peer_frames_per_s, options.peer_burst, now()),
                RateLimit(options.stranger_frames_per_s, options.stranger_burst, now()),
                RateLimit(kHellosPerPeerPerS, kHelloBurst, now()),
                RateLimit(kBeaconsPerIdentity, kBeaconsPerIdentityBurst, now())};
      peer.info.fingerprint = fp;
      it = peers.emplace(fp, std::move(peer)).first;
      count(Counter::peers_discovered);
    }
    Peer& peer = it->second;
    const bool key_changed = peer.info.transport_key != b.transport_key;
    // An online peer keeps its address: a replayed beacon from elsewhere must not move it.
    const bool move = peer.info.endpoint != endpoint && !peer.liveness.is_online();
    if (key_changed && !peer.info.transport_key.empty()) {
      transport->revoke(peer.info.transport_key, fp);
    }
    peer.info.identity_key = b.identity_key;
    peer.info.transport_key = b.transport_key;
    if (unicast_from != nullptr && configured_for(*unicast_from, b.port) != nullptr) {
      peer.info.configured = true;
    }
    transport->admit(b.transport_key, fp);
    if (move || key_changed || !transport->has_link(fp)) {
      peer.info.endpoint = move || peer.info.endpoint.empty() ? endpoint : peer.info.endpoint;
      Status connected = transport->connect(fp, peer.info.endpoint, b.transport_key);
      if (!connected.is_ok()) {
        count(Counter::connect_failed);
        return &peer;
      }
      // A new link: whatever was planned for the old one no longer applies.
      peer.link_up = false;
      peer.relink_at_ms = 0;
      peer.relink_backoff_ms = 0;
      peer.hello_pending = true;
      if (peer.liveness.on_connecting(now())) publish_peer(peer);
    }
    peer.liveness.on_beacon(now());
    return &peer;
  }

  // Identities cost an attacker nothing, so a full table makes room by forgetting the peer that
  // has been quiet longest among those not online and not configured by hand.
  bool evict_idle_peer() {
    auto victim = peers.end();
    for (auto it = peers.begin(); it != peers.end(); ++it) {
      const Peer& peer = it->second;
      if (peer.liveness.is_online() || peer.info.configured) continue;
      if (victim == peers.end() ||
          peer.liveness.last_heard_ms() < victim->second.liveness.last_heard_ms()) {
        victim = it;
      }
    }
    if (victim == peers.end()) return false;
    forget_peer(victim->first);
    count(Counter::peers_evicted);
    return true;
  }

  // Drops a peer entry with its link, its claim on the ZAP allow-list and what it proved.
  void forget_peer(const std::string& fp) {
    auto it = peers.find(fp);
    if (it == peers.end()) return;
    transport->disconnect(fp);
    transport->revoke(it->second.info.transport_key, fp);
    std::erase_if(key_owner, [&](const auto& binding) { return binding.second == fp; });
    peers.erase(it);
  }

  void probe_configured_peers(int64_t now_ms) {
    for (auto& c : configured) {
      bool online = false;
      for (const auto& [fp, peer] : peers) {
        if (peer.info.endpoint == c.spec.endpoint() && peer.liveness.is_online()) online = true;
      }
      if (online || (c.last_probe_ms && now_ms - *c.last_probe_ms < options.beacon_interval_ms)) {
        continue;
      }
      c.last_probe_ms = now_ms;
      send_beacon(c.spec.host, c.spec.port, false);
    }
  }

  // --- frames
  // -------------------------------------------------------------------------------------

  void send_envelope(Peer& peer, wire::Envelope envelope) {
    auto frame = net::encode_frame(std::move(envelope));
    if (!frame.is_ok()) {
      count(Counter::frame_encode_failed);
      return;
    }
    if (transport->send(peer.info.fingerprint, frame.value()).is_ok()) {
      peer.last_sent_ms = now();
    }
  }

  bool send_hello(Peer& peer) {
    wire::Envelope envelope;
    auto* hello = envelope.mutable_hello();
    // Our name only to people we have business with, and to a host we named with --peer (we
    // dialled it on purpose); anyone else can match the name when they type it, not read it.
    peer.known = messenger && messenger->knows(peer.info.fingerprint);
    if (peer.known || peer.info.configured) {
      hello->set_name(account.name());
    } else {
      const Bytes digest = net::name_digest(peer.info.transport_key, account.name());
      hello->set_name_digest(as_chars(digest).data(), digest.size());
    }
    hello->set_protocol_version(net::kProtocolVersion);
    hello->add_capabilities("text");
    if (!net::sign_hello(*hello, account.signal(), account.transport_public(),
                         peer.info.transport_key)
             .is_ok()) {
      count(Counter::hello_sign_failed);
      return false;
    }
    auto frame = net::encode_frame(std::move(envelope));
    if (!frame.is_ok()) return false;
    if (!transport->send(peer.info.fingerprint, frame.value()).is_ok()) return false;
    peer.last_sent_ms = now();
    return true;
  }

  void on_link(const std::string& fp, net::LinkEvent event) {
    auto it = peers.find(fp);
    if (it == peers.end()) return;
    Peer& peer = it->second;
    bool changed = false;
    switch (event) {
      case net::LinkEvent::kHandshakeSucceeded:
        count(Counter::link_handshakes);
        peer.relink_at_ms = 0;
        peer.relink_backoff_ms = 0;
        peer.link_up = true;
        changed = peer.liveness.on_handshake(now());
        peer.link_fresh = true;
        peer.hello_pending = !send_hello(peer);
        break;
      case net::LinkEvent::kHandshakeFailed:
        count(Counter::link_handshake_failures);
        changed = peer.liveness.on_handshake_failed(now());
        schedule_relink(peer);
        break;
      case net::LinkEvent::kDisconnected:
        count(Counter::link_disconnects);
        changed = peer.liveness.on_link_down(now());
        peer.hello_pending = true;
        // A fresh link at once rather than ZeroMQ's own reconnect: that one would first send
        // what the old connection still had queued, ahead of the outbox's resend (from the
        // oldest unacknowledged) of what the old connection lost, and texts would arrive out of
        // order. Everything queued is either in the outbox or needs no resending (receipts,
        // which the peer asks again for by resending; voice, stale by now).
        schedule_relink(peer);
        break;
      case net::LinkEvent::kMisbehaved:
        // A server that pushes frames at us is not a sotto node: its link goes, and comes back
        // only after a backoff, like one whose handshake failed.
        count(Counter::link_misbehaved);
        changed = peer.liveness.on_link_down(now());
        peer.link_up = false;
        peer.hello_pending = true;
        transport->disconnect(fp);
        schedule_relink(peer);
        break;
    }
    if (changed) publish_peer(peer);
  }

  // A link that was up is reopened at once. One that never came up (the peer's address refuses
  // our handshake: it does not know us yet, or it is not the peer at all) is reopened after a
  // backoff that doubles per attempt; its failure and its disconnection count as one attempt.
  void schedule_relink(Peer& peer) {
    if (std::exchange(peer.link_up, false)) {
      peer.relink_at_ms = now();
      return;
    }
    if (peer.relink_at_ms != 0) return;
    peer.relink_backoff_ms =
        std::clamp<int64_t>(peer.relink_backoff_ms * 2, kRelinkInitialMs, kRelinkMaxMs);
    peer.relink_at_ms = now() + peer.relink_backoff_ms;
  }

  // A frame from a client authenticated with `key`. Credited to the identity that proved it
  // holds the key; from a key nobody proved yet, only a Hello (the proof) is read.
  void on_frame(const Bytes& key, const Bytes& frame) {
    auto owner = key_owner.find(key);
    if (owner == key_owner.end()) {
      on_unproved_frame(key, frame);
      return;
    }
    const std::string fp = owner->second;
    auto it = peers.find(fp);
    if (it == peers.end()) {
      count(Counter::frame_dropped_unknown_peer);
      return;
    }
    Peer& peer = it->second;
    if (!(peer.known ? peer.inbound : peer.stranger).take(now())) {
      count(Counter::frame_dropped_rate_limit);
      return;
    }
    if (!frame_budget.take(now())) {
      count(Counter::frame_dropped_global_budget);
      return;
    }
    net::FrameDrop drop{};
    auto envelope = net::decode_frame(frame, &drop);
    if (!envelope.is_ok()) {
      count(dropped(drop));
      return;
    }
    count(Counter::frames_received);
    bool changed = peer.liveness.on_traffic(now());
    const wire::Envelope& e = envelope.value();
    switch (e.body_case()) {
      case wire::Envelope::kHello:
        changed = on_hello(key, peer, e.hello()) || changed;
        break;
      case wire::Envelope::kHeartbeat:
        break;
      case wire::Envelope::kVoice:
        voice->on_frame(fp, e.voice());
        break;
      default:
        messenger->on_envelope(fp, e);
        break;
    }
    if (changed) publish_peer(peer);
  }

  void on_unproved_frame(const Bytes& key, const Bytes& frame) {
    net::FrameDrop drop{};
    auto envelope = net::decode_frame(frame, &drop);
    if (!envelope.is_ok()) {
      count(dropped(drop));
      return;
    }
    if (!envelope.value().has_hello()) {
      count(Counter::frame_dropped_unproved_key);
      return;
    }
    if (!signature_checks.take(now())) {
      count(Counter::hello_dropped_rate_limit);
      return;
    }
    auto identity = net::check_hello(envelope.value().hello(), key, account.transport_public());
    if (!identity.is_ok()) {
      count(Counter::hello_dropped_signature);
      return;
    }
    const std::string fp = crypto::fingerprint_of(identity.value());
    if (fp == account.fingerprint()) {
      count(Counter::hello_dropped_own_identity);
      return;
    }
    bind_key(key, fp);
    on_frame(key, frame);
  }

  // `fp` proved it holds `key`: its frames are credited to it, and any other identity's
  // claim on the key (a beacon naming someone else's key) is dropped with its link.
  void bind_key(const Bytes& key, const std::string& fp) {
    if (std::erase_if(key_owner, [&](const auto& binding) { return binding.second == fp; }) > 0) {
      count(Counter::identity_key_rebound);  // the same identity now connects with another key
    }
    key_owner[key] = fp;
    count(Counter::transport_keys_proved);
    // Proofs for identities with no peer entry (their beacon claim was evicted, or never came)
    // credit nothing: when strangers have piled them up, they go.
    if (key_owner.size() > 4 * options.max_peers) {
      std::erase_if(key_owner,
                    [&](const auto& binding) { return !peers.contains(binding.second); });
    }
    std::vector<std::string> claimants;
    for (const auto& [other, peer] : peers) {
      if (other != fp && peer.info.transport_key == key) claimants.push_back(other);
    }
    for (const auto& other : claimants) {
      count(Counter::beacon_claims_refused);
      forget_peer(other);
    }
  }

  // A Hello over a proved key: the proof again (one per connection; rate-limited, as each
  // costs a signature check), then the name or the digest it carries.
  bool on_hello(const Bytes& key, Peer& peer, const wire::Hello& hello) {
    if (!peer.hellos.take(now()) || !signature_checks.take(now())) {
      count(Counter::hello_dropped_rate_limit);
      return false;
    }
    auto identity = net::check_hello(hello, key, account.transport_public());
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

  // --- timers
  // -------------------------------------------------------------------------------------

  void on_timers() {
    const int64_t now_ms = now();
    for (auto& [fp, peer] : peers) {
      if (peer.liveness.tick(now_ms)) publish_peer(peer);
      if (peer.relink_at_ms != 0 && now_ms >= peer.relink_at_ms) {
        peer.relink_at_ms = 0;
        count(Counter::relinks);
        transport->disconnect(fp);
        if (transport->connect(fp, peer.info.endpoint, peer.info.transport_key).is_ok()) {
          peer.hello_pending = true;
        }
      }
      if (!transport->has_link(fp)) continue;
      if (peer.hello_pending) {
        peer.hello_pending = !send_hello(peer);
      } else if (now_ms - peer.last_sent_ms >= options.heartbeat_ms) {
        wire::Envelope envelope;
        envelope.mutable_heartbeat()->set_seq(static_cast<uint64_t>(now_ms));
        send_envelope(peer, std::move(envelope));
      }
    }
    probe_configured_peers(now_ms);
    if (now_ms >= drain_at_ms) {
      drain_at_ms = now_ms + kLinkDrainIntervalMs;
      transport->drain_links();
    }
    messenger->on_timer();
    voice->tick();
  }

  bool on_air() const { return voice && voice->on_air(); }

  int64_t poll_timeout_ms() const {
    // Heartbeats and probes run on a fixed beat; liveness deadlines may come sooner.
    int64_t next = now() + std::min<int64_t>(options.heartbeat_ms, options.beacon_interval_ms);
    for (const auto& [fp, peer] : peers) {
      next = std::min(next, peer.liveness.next_deadline_ms());
      if (peer.relink_at_ms != 0) next = std::min(next, peer.relink_at_ms);
    }
    // Sends queued beyond one transaction's slice: only a look at the sockets before the next
    // slice (receipts are taken in between), no sleep. Frames still waiting for room in a
    // socket's queue: come back almost at once.
    if (messenger && messenger->has_queued_work()) return 0;
    if (messenger && messenger->busy()) next = std::min(next, now() + 1);
    if (auto at = messenger && !on_air() ? messenger->tidy_at_ms() : std::nullopt) {
      next = std::min(next, *at);
    }
    if (auto at = voice ? voice->next_deadline_ms() : std::nullopt) next = std::min(next, *at);
    return std::clamp<int64_t>(next - now(), 0, 1000);
  }

  // --- events and front ends
  // ------------------------------------------------------------------------

  PeerInfo snapshot(const Peer& peer) const {
    PeerInfo info = peer.info;
    info.state = peer.liveness.state();
    info.silent_ms = now() - peer.liveness.last_heard_ms();
    return info;
  }

  void publish(Event event) {
    event.published_at = std::chrono::steady_clock::now();
    subscribers.erase(
        std::remove_if(subscribers.begin(), subscribers.end(),
                       [](const std::weak_ptr<EventQueue>& q) { return q.expired(); }),
        subscribers.end());
    for (auto& weak : subscribers) {
      if (auto queue = weak.lock()) queue->push(event);
    }
    if (control) control->publish(event);
  }

  void publish_peer(Peer& peer) {
    count(Counter::peer_state_changes);
    publish(Event{clock.wall_ms(), PeerEvent{snapshot(peer)}});
    if (peer.liveness.state() == net::PeerState::kOnline && messenger) {
      messenger->on_peer_online(peer.info.fingerprint, peer.link_fresh);
      peer.link_fresh = false;
    }
  }

  bool send_to(const std::string& fp, ByteView frame) {
    auto it = peers.find(fp);
    if (it == peers.end() || !transport->send(fp, frame).is_ok()) return false;
    it->second.last_sent_ms = now();
    return true;
  }

  VoiceEngineHooks make_voice_hooks() {
    VoiceEngineHooks hooks;
    hooks.messaging = messenger.get();
    hooks.publish = [this](Event event) { publish(std::move(event)); };
    hooks.count = [this](Counter counter, uint64_t n) { count(counter, n); };
    hooks.wake = [this] { wake(); };
    return hooks;
  }

  MessengerHooks make_messenger_hooks() {
    MessengerHooks hooks;
    hooks.send_frame = [this](const std::string& fp, ByteView frame) { return send_to(fp, frame); };
    // Voice depends on messaging, not the other way round: what it decrypts for voice is routed.
    hooks.voice_signal = [this](VoiceSignal signal) {
      if (voice) voice->on_signal(signal);
    };
    hooks.describe_channel = [this](ChannelInfo& info) {
      if (voice) voice->describe(info);
    };
    hooks.roster_changed = [this](const Bytes& channel_id, const std::vector<std::string>& members,
                                  bool still_member) {
      if (voice) voice->on_roster(channel_id, members, still_member);
    };
    hooks.peer = [this](const std::string& fp) -> std::optional<PeerInfo> {
      auto it = peers.find(fp);
      if (it == peers.end()) return std::nullopt;
      return snapshot(it->second);
    };
    hooks.peers = [this] { return list_peers(); };
    hooks.publish = [this](Event event) { publish(std::move(event)); };
    hooks.count = [this](Counter counter, uint64_t n) { count(counter, n); };
    hooks.introduce = [this](const std::string& fp) {
      auto it = peers.find(fp);
      if (it == peers.end()) return;
      it->second.known = true;
      // At once, ahead of whatever we send it next: the first text names its author.
      if (transport->has_link(fp)) it->second.hello_pending = !send_hello(it->second);
    };
    return hooks;
  }

  std::vector<PeerInfo> list_peers() const {
    std::vector<PeerInfo> out;
    for (const auto& [fp, peer] : peers) out.push_back(snapshot(peer));
    return out;
  }

  NodeStats collect_stats() const {
    NodeStats stats;
    stats.counters = counters.snapshot();
    const net::TransportStats& t = transport->stats();
    stats.counters["transport_frames_in"] = t.frames_in;
    stats.counters["transport_frames_out"] = t.frames_out;
    stats.counters["transport_send_dropped"] = t.send_dropped;
    stats.counters["zap_admitted"] = t.zap_admitted;
    stats.counters["zap_refused"] = t.zap_refused;
    stats.counters["inbound_dropped"] = t.inbound_dropped;
    stats.counters["inbound_disconnects"] = t.inbound_disconnects;
    stats.counters["inbound_handshake_failures"] = t.handshake_failures;
    stats.counters["link_frames_refused"] = t.link_frames_refused;
    stats.counters["peers"] = peers.size();
    if (messenger) stats.counters["outbox_waiting"] = messenger->outbox_waiting();
    if (control) stats.counters["control_requests_malformed"] = control->malformed();
    return stats;
  }

  ControlServer::Handlers make_control_handlers() {
    ControlServer::Handlers handlers;
    handlers.identity = [this] {
      return IdentityInfo{account.name(), account.fingerprint(), account.identity_key(),
                          account.transport_public(), transport->endpoint()};
    };
    handlers.peers = [this] { return list_peers(); };
    handlers.stats = [this] { return collect_stats(); };
    handlers.command = [this](const std::string& cmd, const std::string& request,
                              ControlServer::Reply reply) {
      return this->handle_command(cmd, nlohmann::json::parse(request, nullptr, false),
                                  std::move(reply));
    };
    return handlers;
  }

  static std::string status_json(const Status& status) {
    return nlohmann::json{{"ok", false},
                          {"error", status.message()},
                          {"code", std::string(status_code_name(status.code()))}}
        .dump();
  }

  static std::string with_ok(const std::string& key, const std::string& object_json) {
    return nlohmann::json{{"ok", true}, {key, nlohmann::json::parse(object_json)}}.dump();
  }

  std::string channel_command(const std::string& action, const std::string& name,
                              const std::string& peer, const nlohmann::json& request) {
    Result<ChannelInfo> result = Status::invalid_argument(
        "unknown channel action '" + action +
        "' (create, invite, remove, leave, accept, decline, list or roster)");
    if (action == "list") {
      auto list = messenger->channels();
      if (!list.is_ok()) return status_json(list.status());
      auto out = nlohmann::json::array();
      for (const auto& c : list.value()) out.push_back(nlohmann::json::parse(channel_json(c)));
      return nlohmann::json{{"ok", true}, {"channels", out}}.dump();
    }
    if (action == "create") {
      const auto strict_it = request.find("strict");
      const bool strict =
          strict_it == request.end() || !strict_it->is_boolean() || strict_it->get<bool>();
      const auto free_it = request.find("free");
      const bool free_voice =
          free_it != request.end() && free_it->is_boolean() && free_it->get<bool>();
      result = messenger->create_channel(name, strict, free_voice);
    } else if (action == "invite") {
      result = messenger->invite_to_channel(name, peer);
    } else if (action == "remove") {
      result = messenger->remove_from_channel(name, peer);
    } else if (action == "leave") {
      result = messenger->leave_channel(name);
    } else if (action == "accept") {
      result = messenger->accept_channel(name);
    } else if (action == "decline") {
      result = messenger->decline_channel(name);
    } else if (action == "roster") {
      result = messenger->channel(name);
    }
    return result.is_ok() ? with_ok("channel", channel_json(result.value()))
                          : status_json(result.status());
  }

  // The messaging commands of the control socket; false for an unknown command.
  bool handle_command(const std::string& cmd, const nlohmann::json& request,
                      ControlServer::Reply reply) {
    auto text = [&](const char* key) {
      auto it = request.find(key);
      return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (cmd == "unlock") {
      reply(status_json(Status::invalid_argument("the node is not locked")));
      return true;
    }
    if (cmd == "lock") {
      if (!options.on_lock) {
        reply(status_json(Status::unavailable("this node cannot lock; stop it instead")));
        return true;
      }
      const bool answers_when_locked = options.on_lock();
      reply(nlohmann::json{
          {"ok", true}, {"locked", false}, {"answers_when_locked", answers_when_locked}}
                .dump());
      control->deliver_replies_on_close(1000);
      return true;
    }
    if (cmd == "send") {
      messenger->send_text(text("to"), text("text"), [reply](Result<MessageInfo> sent) {
        reply(sent.is_ok() ? with_ok("message", message_json(sent.value()))
                           : status_json(sent.status()));
      });
      return true;
    }
    if (cmd == "add") {
      messenger->add_contact(text("peer"), text("name"), [reply](Result<ContactInfo> added) {
        reply(added.is_ok() ? with_ok("contact", contact_json(added.value()))
                            : status_json(added.status()));
      });
      return true;
    }
    if (cmd == "verify") {
      const auto confirm_it = request.find("confirm");
      const bool confirm =
          confirm_it != request.end() && confirm_it->is_boolean() && confirm_it->get<bool>();
      auto number = messenger->safety_number(text("to"));
      if (!number.is_ok()) {
        reply(status_json(number.status()));
        return true;
      }
      if (!confirm) {
        reply(nlohmann::json{{"ok", true}, {"safety_number", number.value()}}.dump());
        return true;
      }
      messenger->confirm_contact(text("to"), [reply, n = number.value()](Result<ContactInfo> c) {
        if (!c.is_ok()) return reply(status_json(c.status()));
        reply(nlohmann::json{{"ok", true},
                             {"safety_number", n},
                             {"contact", nlohmann::json::parse(contact_json(c.value()))}}
                  .dump());
      });
      return true;
    }
    if (cmd == "replace") {
      auto replaced = messenger->replace_contact(text("old"), text("new"));
      reply(replaced.is_ok() ? with_ok("contact", contact_json(replaced.value()))
                             : status_json(replaced.status()));
      return true;
    }
    if (cmd == "contacts") {
      auto list = messenger->contacts();
      if (!list.is_ok()) {
        reply(status_json(list.status()));
        return true;
      }
      auto out = nlohmann::json::array();
      for (const auto& c : list.value()) out.push_back(nlohmann::json::parse(contact_json(c)));
      reply(nlohmann::json{{"ok", true}, {"contacts", out}}.dump());
      return true;
    }
    if (cmd == "channel") {
      reply(channel_command(text("action"), text("name"), text("peer"), request));
      return true;
    }
    if (cmd == "talk") {
      talk(text("channel"), text("wav"), [reply](Result<MessageInfo> done) {
        reply(done.is_ok() ? with_ok("message", message_json(done.value()))
                           : status_json(done.status()));
      });
      return true;
    }
    if (cmd == "expire") {
      const auto ms_it = request.find("expire_ms");
      if (ms_it == request.end() || !ms_it->is_number_integer()) {
        reply(status_json(Status::invalid_argument("expire needs expire_ms (0: off)")));
        return true;
      }
      auto set = messenger->set_expiry(text("to"), ms_it->get<int64_t>());
      reply(set.is_ok() ? with_ok("message", message_json(set.value()))
                        : status_json(set.status()));
      return true;
    }
    if (cmd == "ptt") {
      const std::string action = text("action");
      if (action != "on" && action != "off") {
        reply(status_json(Status::invalid_argument("ptt action must be on or off")));
        return true;
      }
      const Status done = push_to_talk(text("channel"), action == "on");
      reply(done.is_ok() ? nlohmann::json{{"ok", true}}.dump() : status_json(done));
      return true;
    }
    if (cmd == "play") {
      auto played = play(text("id"), text("wav"));
      reply(played.is_ok()
                ? nlohmann::json{{"ok", true}, {"played", played_object(played.value())}}.dump()
                : status_json(played.status()));
      return true;
    }
    if (ArchiveService::handles(cmd)) {  // search, export, export_progress
      archive_service().handle(cmd, request, std::move(reply), &Impl::status_json);
      return true;
    }
    if (cmd == "history") {
      const auto limit_it = request.find("limit");
      const int64_t limit = limit_it != request.end() && limit_it->is_number_integer()
                                ? limit_it->get<int64_t>()
                                : 50;
      auto list = messenger->history(text("to"), std::clamp<int64_t>(limit, 1, 1'000'000));
      if (!list.is_ok()) {
        reply(status_json(list.status()));
        return true;
      }
      auto out = nlohmann::json::array();
      for (const auto& m : list.value()) out.push_back(nlohmann::json::parse(message_json(m)));
      reply(nlohmann::json{{"ok", true}, {"messages", out}}.dump());
      return true;
    }
    return false;
  }

  void talk(const std::string& channel, const std::string& wav_path, VoiceEngine::TalkDone done) {
    if (wav_path.empty()) return done(Status::invalid_argument("no recording given (--wav FILE)"));
    auto source =
        voice::open_wav_source(wav_path, voice::frame_samples_for(options.voice_frame_ms));
    if (!source.is_ok()) return done(source.status().with_context(wav_path));
    voice->talk(channel, std::move(source).value(), std::move(done));
  }

  Status push_to_talk(const std::string& channel, bool on) {
    if (!on) {
      return voice->stop_talking(channel)
                 ? Status::ok()
                 : Status::invalid_argument("you are not talking on " + channel);
    }
    const int frame_samples = voice::frame_samples_for(options.voice_frame_ms);
    const std::string& in = options.audio_in;
    const bool file = in.size() > 4 && in.compare(in.size() - 4, 4, ".wav") == 0;
    auto source = file ? voice::open_wav_source(in, frame_samples)
                       : voice::open_device_source(in, frame_samples);
    if (!source.is_ok()) return source.status();
    // Refusals come back at once; the end of the transmission is reported as an event.
    auto refused = std::make_shared<std::optional<Status>>();
    auto returned = std::make_shared<bool>(false);
    voice->talk(
        channel, std::move(source).value(),
        [refused, returned](Result<MessageInfo> r) {
          if (!*returned && !r.is_ok()) *refused = r.status();
        },
        file ? VoiceEngine::Capture::kPaced : VoiceEngine::Capture::kThreaded);
    *returned = true;
    return refused->value_or(Status::ok());
  }

  Result<PlayedClip> play(const std::string& id, const std::string& out) {
    SOTTO_ASSIGN_OR_RETURN(ArchivedClip clip, messenger->find_clip(id));
    return play_clip(clip, out);
  }

  ArchiveService& archive_service() {
    if (!archive) {
      // Export slices go through the task queue, so the loop serves everything else between
      // them; with no loop running the export is written at once.
      archive =
          std::make_unique<ArchiveService>(account, *messenger, [this](std::function<void()> task) {
            if (!running.load()) return false;
            post(std::move(task));
            return true;
          });
    }
    return *archive;
  }

  // --- cross-thread calls
  // ---------------------------------------------------------------------------

  void wake() {
    const uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
  }

  template <typename T>
  T call(std::function<T()> fn) {
    if (std::this_thread::get_id() == loop_thread.load()) return fn();
    std::future<T> result;
    {
      // Queued under the same lock the loop takes to stop, so its last run_tasks() sees it.
      std::lock_guard<std::recursive_mutex> direct(direct_mutex);
      if (!running.load()) return fn();
      auto task = std::make_shared<std::packaged_task<T()>>(std::move(fn));
      result = task->get_future();
      std::lock_guard<std::mutex> lock(tasks_mutex);
      tasks.push_back([task] { (*task)(); });
    }
    wake();
    return result.get();
  }

  // Queues `task` for the loop without waiting for it.
  void post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(tasks_mutex);
      tasks.push_back(std::move(task));
    }
    wake();
  }

  void run_tasks() {
    std::deque<std::function<void()>> pending;
    {
      std::lock_guard<std::mutex> lock(tasks_mutex);
      pending.swap(tasks);
    }
    for (auto& task : pending) task();
  }

  Status loop() {
    {
      std::lock_guard<std::recursive_mutex> direct(direct_mutex);
      loop_thread = std::this_thread::get_id();
      running = true;
    }
    Status result = Status::ok();
    while (!stop_requested.load()) {
      // Timers first: the first probes and beacons go out at once, not after a poll timeout.
      run_tasks();
      messenger->flush_sends();  // every send queued since the last round: one transaction
      on_timers();
      auto polled = poller.poll(poll_timeout_ms());
      if (!polled.is_ok()) {
        result = polled.status();
        break;
      }
      // Everything that arrived in this round shares one transaction and one fsync.
      messenger->after_poll();
      messenger->flush_sends();
      if (!on_air()) messenger->tidy_when_quiet();  // after the transmission otherwise
    }
    {
      std::lock_guard<std::recursive_mutex> direct(direct_mutex);
      running = false;
    }
    run_tasks();  // nobody waits forever on a call made while the loop was ending
    return result;
  }
};

// --- Node ---------------------------------------------------------------------------------------

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Node::~Node() = default;

Result<std::unique_ptr<Node>> Node::create(Account& account, NodeOptions options,
                                           const Clock& clock) {
  net::quiet_czmq();
  auto impl = std::make_unique<Impl>(account, std::move(options), clock);
  SOTTO_RETURN_IF_ERROR(impl->start());
  return std::unique_ptr<Node>(new Node(std::move(impl)));
}

Status Node::run() {
  return impl_->loop();
}

void Node::stop() {
  impl_->stop_requested = true;
  impl_->wake();
}

const std::string& Node::endpoint() const {
  return impl_->transport->endpoint();
}
const std::string& Node::control_path() const {
  return impl_->control_path;
}

std::vector<PeerInfo> Node::peers() {
  return impl_->call<std::vector<PeerInfo>>([this] { return impl_->list_peers(); });
}

NodeStats Node::stats() {
  return impl_->call<NodeStats>([this] { return impl_->collect_stats(); });
}

std::future<Result<MessageInfo>> Node::send_text_async(const std::string& to,
                                                       const std::string& text) {
  auto promise = std::make_shared<std::promise<Result<MessageInfo>>>();
  auto future = promise->get_future();
  impl_->post([this, to, text, promise] {
    impl_->messenger->send_text(to, text,
                                [promise](Result<MessageInfo> r) { promise->set_value(r); });
  });
  return future;
}

Result<MessageInfo> Node::send_text(const std::string& to, const std::string& text) {
  auto future = send_text_async(to, text);
  if (future.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
    return Status::unavailable("the node did not finish in time");
  }
  return future.get();
}

namespace {

// Runs an asynchronous messenger operation on the loop and waits for its result.
Result<ContactInfo> wait_for(std::shared_ptr<std::promise<Result<ContactInfo>>> promise) {
  auto future = promise->get_future();
  if (future.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
    return Status::unavailable("the node did not finish in time");
  }
  return future.get();
}

}  // namespace

Result<ContactInfo> Node::add_contact(const std::string& peer, const std::string& name) {
  auto promise = std::make_shared<std::promise<Result<ContactInfo>>>();
  impl_->call<int>([&, promise] {
    impl_->messenger->add_contact(peer, name,
                                  [promise](Result<ContactInfo> r) { promise->set_value(r); });
    return 0;
  });
  return wait_for(promise);
}

Result<std::string> Node::safety_number(const std::string& to) {
  return impl_->call<Result<std::string>>([&] { return impl_->messenger->safety_number(to); });
}

Result<ContactInfo> Node::confirm_contact(const std::string& to) {
  auto promise = std::make_shared<std::promise<Result<ContactInfo>>>();
  impl_->call<int>([&, promise] {
    impl_->messenger->confirm_contact(to,
                                      [promise](Result<ContactInfo> r) { promise->set_value(r); });
    return 0;
  });
  return wait_for(promise);
}

Result<ContactInfo> Node::replace_contact(const std::string& old_contact,
                                          const std::string& new_contact) {
  return impl_->call<Result<ContactInfo>>(
      [&] { return impl_->messenger->replace_contact(old_contact, new_contact); });
}

Result<std::vector<ContactInfo>> Node::contacts() {
  return impl_->call<Result<std::vector<ContactInfo>>>(
      [&] { return impl_->messenger->contacts(); });
}

Result<std::vector<MessageInfo>> Node::history(const std::string& to, int64_t limit) {
  return impl_->call<Result<std::vector<MessageInfo>>>(
      [&] { return impl_->messenger->history(to, limit); });
}

Result<ChannelInfo> Node::create_channel(const std::string& name, bool strict, bool free_voice) {
  return impl_->call<Result<ChannelInfo>>(
      [&] { return impl_->messenger->create_channel(name, strict, free_voice); });
}

Result<ChannelInfo> Node::invite_to_channel(const std::string& channel, const std::string& peer) {
  return impl_->call<Result<ChannelInfo>>(
      [&] { return impl_->messenger->invite_to_channel(channel, peer); });
}

Result<ChannelInfo> Node::remove_from_channel(const std::string& channel, const std::string& peer) {
  return impl_->call<Result<ChannelInfo>>(
      [&] { return impl_->messenger->remove_from_channel(channel, peer); });
}

Result<ChannelInfo> Node::leave_channel(const std::string& channel) {
  return impl_->call<Result<ChannelInfo>>([&] { return impl_->messenger->leave_channel(channel); });
}

Result<ChannelInfo> Node::accept_channel(const std::string& channel) {
  return impl_->call<Result<ChannelInfo>>(
      [&] { return impl_->messenger->accept_channel(channel); });
}

Result<ChannelInfo> Node::decline_channel(const std::string& channel) {
  return impl_->call<Result<ChannelInfo>>(
      [&] { return impl_->messenger->decline_channel(channel); });
}

Result<std::vector<ChannelInfo>> Node::channels() {
  return impl_->call<Result<std::vector<ChannelInfo>>>(
      [&] { return impl_->messenger->channels(); });
}

Result<ChannelInfo> Node::channel(const std::string& channel) {
  return impl_->call<Result<ChannelInfo>>([&] { return impl_->messenger->channel(channel); });
}

Result<MessageInfo> Node::talk(const std::string& channel, const std::string& wav_path) {
  auto promise = std::make_shared<std::promise<Result<MessageInfo>>>();
  auto result = promise->get_future();
  impl_->post([this, channel, wav_path, promise] {
    impl_->talk(channel, wav_path,
                [promise](Result<MessageInfo> done) { promise->set_value(std::move(done)); });
  });
  return result.get();
}

Result<MessageInfo> Node::set_expiry(const std::string& to, int64_t expire_ms) {
  return impl_->call<Result<MessageInfo>>(
      [this, to, expire_ms] { return impl_->messenger->set_expiry(to, expire_ms); });
}

PttState Node::ptt_state() {
  return impl_->call<PttState>([this] { return impl_->voice->ptt_state(); });
}

Status Node::push_to_talk(const std::string& channel, bool on) {
  return impl_->call<Status>([this, channel, on] { return impl_->push_to_talk(channel, on); });
}

Result<PlayedClip> Node::play(const std::string& id, const std::string& out) {
  return impl_->call<Result<PlayedClip>>([this, id, out] { return impl_->play(id, out); });
}

Result<std::vector<SearchHit>> Node::search(const std::string& query, const std::string& in,
                                            int64_t limit) {
  return impl_->call<Result<std::vector<SearchHit>>>(
      [&] { return impl_->archive_service().search(query, in, limit); });
}

Result<ExportSummary> Node::export_archive(const ExportOptions& options) {
  auto done = std::make_shared<std::promise<Result<ExportSummary>>>();
  std::future<Result<ExportSummary>> result = done->get_future();
  impl_->call<int>([&] {
    impl_->archive_service().start_export(
        options, [done](Result<ExportSummary> r) { done->set_value(std::move(r)); });
    return 0;
  });
  try {
    return result.get();
  } catch (const std::future_error&) {  // the node stopped with the export's slices queued
    return Status::unavailable("the node stopped before the export was complete");
  }
}

std::shared_ptr<EventQueue> Node::subscribe() {
  auto queue = std::make_shared<EventQueue>();
  impl_->call<int>([this, queue] {
    impl_->subscribers.push_back(queue);
    return 0;
  });
  return queue;
}

}  // namespace sotto::core
