// The node's loop side: its owners set up and wired together (node_impl.h), frames routed to
// them, the loop's round. What other threads call is in node_calls.cpp.
#include "sotto/core/node.h"

#include <algorithm>
#include <chrono>

#include "sotto/net/udp_socket.h"
#include "sotto/voice/audio_device.h"
#include "sotto/voice/opus_codec.h"
#include "src/core/account_internals.h"
#include "src/core/clip_player.h"
#include "src/core/node_impl.h"
#include "src/net/hello.h"
#include "src/net/wire.h"

namespace sotto::core {
namespace {

constexpr int kBindAttempts = 16;
// How often our DEALERs are drained of what servers pushed (they hold at most a few messages).
constexpr int64_t kLinkDrainIntervalMs = 1000;
constexpr int kLockReplyFlushMs = 1000;

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

PeerTableOptions peer_table_options(const NodeOptions& options) {
  PeerTableOptions out;
  out.max_peers = options.max_peers;
  out.link_idle_ms = options.link_idle_ms;
  out.heartbeat_ms = options.heartbeat_ms;
  out.liveness = options.liveness;
  out.peer_frames_per_s = options.peer_frames_per_s;
  out.peer_burst = options.peer_burst;
  out.stranger_frames_per_s = options.stranger_frames_per_s;
  out.stranger_burst = options.stranger_burst;
  return out;
}

VoiceOptions voice_options(const NodeOptions& options) {
  VoiceOptions out;
  out.frame_ms = options.voice_frame_ms;
  out.bitrate_bps = options.voice_bitrate_bps;
  out.audio_out = options.audio_out;
  out.audio_in = options.audio_in;
  out.trace = options.voice_trace;
  out.trace_costs = options.voice_trace_costs;
  return out;
}

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

Node::Impl::Impl(Account& a, NodeOptions o, const Clock& c)
    : account(a),
      options(std::move(o)),
      clock(c),
      peers(peer_table_options(options), clock, *this, counters,
            [this](PeerTable::Peer& peer) { on_peer_changed(peer); }),
      frame_budget(options.frames_per_s_total, options.frames_per_s_total, 0) {}

Node::Impl::~Impl() {
  if (loop) {  // the thread ends before what it uses
    loop->stop();
    (void)loop->join();
  }
  archive_service.reset();  // an unfinished export removes its files
  voice.reset();      // a transmission in progress answers its caller first; capture threads join
  loop.reset();       // after voice: a capture thread wakes the loop until it is joined
  messenger.reset();  // pending replies die with it, before the socket they would use
  control.reset();
  discovery.reset();
  transport.reset();
}

Status Node::Impl::start() {
  SOTTO_ASSIGN_OR_RETURN(loop, NodeLoop::create(poller));
  SOTTO_ASSIGN_OR_RETURN(
      discovery,
      Discovery::create({options.peers, std::move(options.network_key), options.beacon_interval_ms,
                         std::max(options.beacon_interval_ms, options.beacon_interval_max_ms),
                         options.heartbeat_ms},
                        account, clock, poller, peers, counters));
  if (options.discovery) {
    SOTTO_RETURN_IF_ERROR(discovery->open_broadcast(options.interface, options.beacon_port));
  }
  SOTTO_RETURN_IF_ERROR(bind_sockets());
  SOTTO_RETURN_IF_ERROR(discovery->announce(transport->port()));
  MessengerOptions messenger_options;
  messenger_options.accept_unknown = options.accept_unknown;
  messenger_options.serve_mailbox = options.serve_mailbox;
  messenger_options.mailbox_limits = options.mailbox_limits;
  messenger =
      std::make_unique<Messenger>(account, clock, messenger_options, make_messenger_hooks());
  SOTTO_RETURN_IF_ERROR(messenger->start());
  if (!options.mailbox.empty()) messenger->want_mailbox(options.mailbox);
  voice = std::make_unique<VoiceEngine>(account.fingerprint(), clock, voice_options(options),
                                        make_voice_hooks());
  SOTTO_RETURN_IF_ERROR(voice->start().with_context("--audio-out"));
  if (options.control_socket) {
    dispatcher = std::make_unique<ControlDispatcher>(*this);
    control_path = AccountInternals::profile(account).dir() + "/control.sock";
    SOTTO_ASSIGN_OR_RETURN(
        control, ControlServer::start(context, poller, control_path, make_control_handlers()));
  }
  loop->start([this] { return round(); }, [this] { messenger->on_stop(); });
  return Status::ok();
}

Result<std::string> Node::Impl::listen_host() const {
  if (!options.listen.empty()) {
    SOTTO_ASSIGN_OR_RETURN(auto parts, parse_tcp_endpoint(options.listen));
    return parts.first;
  }
  if (!options.interface.empty()) return net::interface_ipv4(options.interface);
  // Where discovery found the LAN: the one address peers are told about, not every interface
  // the machine has (one of which may face another network).
  if (discovery->broadcast() != nullptr) return discovery->broadcast()->host();
  return Status::invalid_argument(
      "say where to listen: --listen tcp://ADDRESS:PORT or --interface IF (sotto does not "
      "listen on every interface)");
}

Status Node::Impl::bind_sockets() {
  SOTTO_ASSIGN_OR_RETURN(std::string host, listen_host());
  const uint16_t port =
      options.listen.empty() ? 0 : parse_tcp_endpoint(options.listen).value().second;
  if (host == "*") host = "0.0.0.0";
  if (!net::is_ipv4_address(host)) {
    return Status::invalid_argument("listen address must be an IPv4 address: " + host);
  }
  // Its UDP port takes unicast beacons (Discovery::bind_unicast).
  if (options.voice_port != 0 && options.voice_port == port) {
    return Status::invalid_argument("--voice-port " + std::to_string(port) +
                                    " is the listen port, whose UDP port takes beacons: choose "
                                    "another");
  }
  net::TransportOptions transport_options;
  transport_options.bind_address = host;
  transport_options.datagram_port = options.voice_port;
  net::Transport::Callbacks callbacks;
  callbacks.on_frame = [this](const Bytes& key, Bytes frame) { on_frame(key, frame); };
  callbacks.on_datagram = [this](const Bytes& key, Bytes frame) { on_datagram(key, frame); };
  callbacks.on_link = [this](const std::string& fp, net::LinkEvent e) { peers.on_link(fp, e); };
  // The unicast beacon socket needs the TCP port's number for UDP too; an ephemeral TCP port
  // may be taken for UDP, so try again with another.
  Status last = Status::ok();
  for (int attempt = 0; attempt < kBindAttempts; ++attempt) {
    transport_options.port = port;
    SOTTO_ASSIGN_OR_RETURN(
        transport,
        net::Transport::create(context, poller, transport_options, account.transport_public(),
                               account.transport_secret(), callbacks));
    last = discovery->bind_unicast(host, transport->port());
    if (last.is_ok()) return last;
    transport.reset();
    if (port != 0) break;
  }
  return last.with_context("binding the unicast beacon socket");
}

Status Node::Impl::connect(const std::string& fp, const std::string& endpoint, const Bytes& key) {
  return transport->connect(fp, endpoint, key);
}

bool Node::Impl::send_hello(PeerTable::Peer& peer) {
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
  hello->set_voice_port(transport->datagram_port());
  hello->set_datagram_session(transport->datagram_session());
  hello->set_datagram_floor(transport->next_datagram_number(peer.info.transport_key));
  if (!net::sign_hello(*hello, AccountInternals::signal(account), account.transport_public(),
                       peer.info.transport_key)
           .is_ok()) {
    count(Counter::hello_sign_failed);
    return false;
  }
  auto frame = net::encode_frame(std::move(envelope));
  return frame.is_ok() && transport->send(peer.info.fingerprint, frame.value()).is_ok();
}

bool Node::Impl::send_heartbeat(const std::string& fp) {
  wire::Envelope envelope;
  envelope.mutable_heartbeat()->set_seq(static_cast<uint64_t>(now()));
  auto frame = net::encode_frame(std::move(envelope));
  if (!frame.is_ok()) {
    count(Counter::frame_encode_failed);
    return false;
  }
  return transport->send(fp, frame.value()).is_ok();
}

bool Node::Impl::wants_link(const std::string& fp) {
  return messenger && messenger->has_business_with(fp);
}

bool Node::Impl::knows(const std::string& fp) {
  return messenger && messenger->knows(fp);
}

bool Node::Impl::send_to(const std::string& fp, ByteView frame) {
  PeerTable::Peer* peer = peers.find(fp);
  if (peer == nullptr || !peers.open_on_demand(*peer) || !transport->send(fp, frame).is_ok()) {
    return false;
  }
  peer->last_sent_ms = now();
  peers.note_used(*peer);
  return true;
}

bool Node::Impl::send_live_to(const std::string& fp, ByteView frame) {
  // No fallback once a datagram is sealed: it may be lost like any (or refused by the kernel at
  // the flush, counted there), and a listener who misses frames gets the whole clip from the
  // outbox.
  const Status sent = transport->send_datagram(fp, frame);
  if (sent.is_ok()) return true;
  if (sent.code() != StatusCode::kUnavailable) return false;
  return send_to(fp, frame);
}

PeerTable::Peer* Node::Impl::inbound_peer(const std::string& fp) {
  PeerTable::Peer* peer = peers.find(fp);
  if (peer == nullptr) {
    count(Counter::frame_dropped_unknown_peer);
    return nullptr;
  }
  if (!(peer->known ? peer->inbound : peer->stranger).take(now())) {
    count(Counter::frame_dropped_rate_limit);
    return nullptr;
  }
  if (!frame_budget.take(now())) {
    count(Counter::frame_dropped_global_budget);
    return nullptr;
  }
  return peer;
}

std::optional<wire::Envelope> Node::Impl::decode_counted(const Bytes& frame) {
  net::FrameDrop drop{};
  auto envelope = net::decode_frame(frame, &drop);
  if (!envelope.is_ok()) {
    count(dropped(drop));
    return std::nullopt;
  }
  return std::move(envelope).value();
}

void Node::Impl::on_frame(const Bytes& key, const Bytes& frame) {
  const std::string* owner = peers.owner_of(key);
  if (owner == nullptr) return on_unproved_frame(key, frame);
  const std::string fp = *owner;
  PeerTable::Peer* peer = inbound_peer(fp);
  if (peer == nullptr) return;
  const std::optional<wire::Envelope> envelope = decode_counted(frame);
  if (!envelope) return;
  count(Counter::frames_received);
  bool changed = peers.on_traffic(*peer);
  const wire::Envelope& e = *envelope;
  switch (e.body_case()) {
    case wire::Envelope::kHello:
      changed = discovery->on_hello(key, *peer, e.hello()) || changed;
      learn_datagram_route(*peer, key, e.hello());
      // Someone who dialled us hears who we are in return (a name digest unless we know it,
      // as from anyone): over a link opened for that, closed again once idle.
      peers.open_on_demand(*peer);
      break;
    case wire::Envelope::kHeartbeat:
      count(Counter::heartbeats_received);
      break;
    case wire::Envelope::kVoice:
      voice->on_frame(fp, e.voice());
      break;
    default:
      messenger->on_envelope(fp, e);
      break;
  }
  if (changed) peers.changed(*peer);
}

// Only live voice frames come as datagrams: everything else needs the link's order and delivery,
// and a Hello must arrive over the connection whose key it binds.
void Node::Impl::on_datagram(const Bytes& key, const Bytes& frame) {
  const std::string* owner = peers.owner_of(key);
  if (owner == nullptr) return count(Counter::datagram_dropped_unproved_key);
  const std::string fp = *owner;
  PeerTable::Peer* peer = inbound_peer(fp);
  if (peer == nullptr) return;
  const std::optional<wire::Envelope> envelope = decode_counted(frame);
  if (!envelope) return;
  if (!envelope->has_voice()) return count(Counter::datagram_dropped_not_voice);
  count(Counter::frames_received);
  if (peers.on_traffic(*peer)) peers.changed(*peer);
  voice->on_frame(fp, envelope->voice());
}

// The peer's Hello says where it takes datagrams (they go to the host its link goes to, sealed
// for the key the Hello came with), and which session and numbers its own datagrams to us carry.
void Node::Impl::learn_datagram_route(const PeerTable::Peer& peer, const Bytes& key,
                                      const wire::Hello& hello) {
  const auto endpoint = parse_tcp_endpoint(peer.info.endpoint);
  const uint32_t port = hello.voice_port();
  if (!endpoint.is_ok() || port > UINT16_MAX ||
      !transport
           ->set_datagram_route(peer.info.fingerprint, endpoint.value().first,
                                static_cast<uint16_t>(port), key)
           .is_ok()) {
    (void)transport->set_datagram_route(peer.info.fingerprint, {}, 0, key);
  }
  (void)transport->expect_datagrams(key, hello.datagram_session(), hello.datagram_floor());
}

void Node::Impl::on_unproved_frame(const Bytes& key, const Bytes& frame) {
  const std::optional<wire::Envelope> envelope = decode_counted(frame);
  if (!envelope) return;
  if (!envelope->has_hello()) return count(Counter::frame_dropped_unproved_key);
  if (discovery->prove(key, envelope->hello())) on_frame(key, frame);
}

Status Node::Impl::round() {
  // Instrumentation: with voice_trace and voice_trace_costs set, a round on air is timed.
  const bool timed = options.voice_trace && options.voice_trace_costs && on_air();
  using Steady = std::chrono::steady_clock;
  const Steady::time_point began = timed ? Steady::now() : Steady::time_point{};
  VoiceTrace trace;
  messenger->flush_sends();             // every send queued since the last round: one transaction
  on_timers(timed ? &trace : nullptr);  // first: the first probes and beacons go out at once
  const Steady::time_point waiting = timed ? Steady::now() : Steady::time_point{};
  poller.note_wakes(timed);
  SOTTO_RETURN_IF_ERROR(poller.poll(poll_timeout_ms()).status());
  const Steady::time_point handled = timed ? Steady::now() : Steady::time_point{};
  // Everything that arrived in this round shares one transaction and one fsync.
  messenger->after_poll();
  messenger->flush_sends();
  transport->flush_datagrams();
  if (!on_air()) messenger->tidy_when_quiet();  // after the transmission otherwise
  if (timed) {
    auto us = [](Steady::duration d) {
      return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    };
    trace.kind = VoiceTrace::Kind::kLoopRound;
    trace.wall_us = clock.wall_us();
    trace.timers_us = us(waiting - began);
    trace.waited_us = us(poller.woke_at() - waiting);
    trace.handlers_us = us(handled - poller.woke_at());
    trace.after_us = us(Steady::now() - handled);
    options.voice_trace(trace);
  }
  return Status::ok();
}

void Node::Impl::on_timers(VoiceTrace* timed) {
  // Instrumentation: with `timed`, the slowest of the timers is noted in it.
  auto run = [timed](const char* name, const std::function<void()>& timer) {
    if (timed == nullptr) return timer();
    const auto began = std::chrono::steady_clock::now();
    timer();
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - began)
                        .count();
    if (us > timed->slowest_timer_us) {
      timed->slowest_timer = name;
      timed->slowest_timer_us = us;
    }
  };
  // Voice first: a frame due goes before anything else this round can delay it.
  run("voice", [&] {
    voice->tick();
    transport->flush_datagrams();  // the frame's datagrams to all its listeners in one call
  });
  if (!upkeep_due()) return;
  if (timed != nullptr) timed->upkeep = true;
  // Our heartbeats fall due together (a transmission's VoiceStart went to every listener at
  // once), and each wakes a peer's I/O thread and loop: sent with a frame, or while its
  // listeners decode it, they would take the CPU from both.
  run("peers", [&] { peers.tick(!voice->quiet_from_ms().has_value()); });
  run("discovery", [&] { discovery->tick(); });
  if (now() >= drain_at_ms) {
    drain_at_ms = now() + kLinkDrainIntervalMs;
    run("drain_links", [&] { transport->drain_links(); });
  }
  run("messenger", [&] { messenger->on_timer(on_air()); });
  // On air, half a heartbeat period (500 ms by default): a heartbeat is never more than half a
  // period late, whatever NodeOptions::heartbeat_ms says (Node::Impl::upkeep_due).
  upkeep_at_ms = now() + options.heartbeat_ms / 2;
  // A heartbeat held back for the frames goes in the next quiet window.
  if (peers.heartbeats_held()) {
    upkeep_at_ms = std::min(upkeep_at_ms, voice->quiet_from_ms().value_or(now()));
  }
}

bool Node::Impl::upkeep_due() const {
  // On air the loop wakes every frame, and this upkeep (liveness, heartbeats, beacons, resends,
  // expiry) works in seconds: each run touches a dozen subsystems' code and data, cold after
  // each wait. Every 500 ms instead of every 100 it costs a talker ~2 us a frame less and a
  // listener ~1 (what is left is mostly done once a second whatever the interval: the heartbeat
  // sent), and a heartbeat, a resend or a liveness verdict is at most half a second late, against
  // deadlines of seconds. Frames waiting for room in a socket's queue (busy) are retried every
  // round as before.
  return !on_air() || messenger->busy() || now() >= upkeep_at_ms;
}

int64_t Node::Impl::poll_timeout_ms() const {
  // Heartbeats run on a fixed beat; liveness deadlines and beacons may come sooner.
  int64_t next = now() + options.heartbeat_ms;
  next = std::min(next, peers.next_deadline_ms());
  if (peers.heartbeats_held()) next = std::min(next, voice->quiet_from_ms().value_or(now()));
  next = std::min(next, discovery->next_deadline_ms());
  // What the upkeep would do waits for its turn (upkeep_due), not a wake-up of its own.
  if (!upkeep_due()) next = std::max(next, upkeep_at_ms);
  // Sends queued beyond one transaction's slice: only a look at the sockets before the next
  // slice (receipts are taken in between), no sleep. Frames still waiting for room in a
  // socket's queue: come back almost at once.
  if (messenger->has_queued_work()) return 0;
  if (messenger->busy()) next = std::min(next, now() + 1);
  if (auto at = !on_air() ? messenger->tidy_at_ms() : std::nullopt) next = std::min(next, *at);
  if (auto at = voice->next_deadline_ms()) next = std::min(next, *at);
  return std::clamp<int64_t>(next - now(), 0, 1000);
}

void Node::Impl::publish(Event event) {
  event.published_at = std::chrono::steady_clock::now();
  std::erase_if(subscribers, [](const std::weak_ptr<EventQueue>& q) { return q.expired(); });
  for (auto& weak : subscribers) {
    if (auto queue = weak.lock()) queue->push(event);
  }
  if (control) control->publish(event);
}

void Node::Impl::on_peer_changed(PeerTable::Peer& peer) {
  publish(Event{clock.wall_ms(), PeerEvent{peers.snapshot(peer)}});
  // A peer lost is a change on the LAN: our beacons go fast again, so it finds us when back.
  if (peer.liveness.state() == net::PeerState::kOffline && discovery) discovery->quicken();
  if (peer.liveness.state() == net::PeerState::kOnline && messenger) {
    messenger->on_peer_online(peer.info.fingerprint, peer.link_fresh);
    peer.link_fresh = false;
  }
  if (messenger) messenger->on_peer_changed(peer.info.fingerprint);
}

NodeStats Node::Impl::collect_stats() const {
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
  stats.counters["datagrams_in"] = t.datagrams_in;
  stats.counters["datagrams_out"] = t.datagrams_out;
  stats.counters["datagrams_refused"] = t.datagrams_refused;
  stats.counters["datagrams_replayed"] = t.datagrams_replayed;
  stats.counters["datagram_send_failed"] = t.datagram_send_failed;
  stats.counters["peers"] = peers.size();
  stats.counters["links_open"] = transport->links_open();
  stats.counters["beacon_interval_ms"] = static_cast<uint64_t>(discovery->interval_ms());
  stats.counters["outbox_waiting"] = messenger->outbox_waiting();
  if (control) stats.counters["control_requests_malformed"] = control->malformed();
  // The sound devices' callbacks (audio_device.h), once a device has run.
  const voice::AudioDeviceStats audio = voice ? voice->audio_stats() : voice::AudioDeviceStats{};
  if (audio.callbacks > 0) {
    stats.counters["audio_callbacks"] = audio.callbacks;
    stats.counters["audio_xruns"] = audio.xruns;
    stats.counters["audio_callback_max_us"] =
        static_cast<uint64_t>(audio.longest_callback_ns / 1000);
    stats.counters["audio_peak_sample"] = static_cast<uint64_t>(audio.peak_sample);
  }
  return stats;
}

VoiceEngineHooks Node::Impl::make_voice_hooks() {
  VoiceEngineHooks hooks;
  hooks.messaging = messenger.get();
  hooks.publish = [this](Event event) { publish(std::move(event)); };
  hooks.count = [this](Counter counter, uint64_t n) { count(counter, n); };
  hooks.wake = [this] { loop->wake(); };
  return hooks;
}

MessengerHooks Node::Impl::make_messenger_hooks() {
  MessengerHooks hooks;
  hooks.send_frame = [this](const std::string& fp, ByteView frame) { return send_to(fp, frame); };
  hooks.send_live = [this](const std::string& fp, ByteView frame) {
    return send_live_to(fp, frame);
  };
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
    const PeerTable::Peer* peer = peers.find(fp);
    if (peer == nullptr) return std::nullopt;
    return peers.snapshot(*peer);
  };
  hooks.peers = [this] { return peers.list(); };
  hooks.publish = [this](Event event) { publish(std::move(event)); };
  hooks.count = [this](Counter counter, uint64_t n) { count(counter, n); };
  hooks.introduce = [this](const std::string& fp) { peers.introduce(fp); };
  // A lookup by name: the stranger answers our Hello with its own, which carries its digest.
  hooks.greet = [this](const std::string& fp) {
    PeerTable::Peer* peer = peers.find(fp);
    return peer != nullptr && peers.open_on_demand(*peer);
  };
  hooks.reach = [this](const std::string& endpoint, const Bytes& transport_key) {
    auto spec = PeerSpec::parse(endpoint);
    if (!spec.is_ok()) return;
    spec.value().pinned_key = transport_key;
    discovery->add_peer(spec.value());
  };
  return hooks;
}

ControlServer::Handlers Node::Impl::make_control_handlers() {
  ControlServer::Handlers handlers;
  handlers.identity = [this] {
    return IdentityInfo{account.name(), account.fingerprint(), account.identity_key(),
                        account.transport_public(), transport->endpoint()};
  };
  handlers.peers = [this] { return peers.list(); };
  handlers.stats = [this] { return collect_stats(); };
  handlers.request = [this](const std::string& cmd, const nlohmann::json& request,
                            ControlServer::Reply reply) {
    return dispatcher->dispatch(cmd, request, std::move(reply));
  };
  return handlers;
}

ArchiveService& Node::Impl::archive() {
  if (!archive_service) {
    // Export slices go through the loop's queue, so the loop serves everything else between
    // them; once the loop has ended, the rest of the export is written at once.
    archive_service = std::make_unique<ArchiveService>(
        account, *messenger, [this](std::function<void()> task) { return loop->post(task); });
  }
  return *archive_service;
}

void Node::Impl::talk(const std::string& channel, const std::string& wav_path,
                      VoiceEngine::TalkDone done) {
  if (wav_path.empty()) return done(Status::invalid_argument("no recording given (--wav FILE)"));
  auto source = voice::open_wav_source(wav_path, voice::frame_samples_for(options.voice_frame_ms));
  if (!source.is_ok()) return done(source.status().with_context(wav_path));
  voice->talk(channel, std::move(source).value(), std::move(done));
}

Status Node::Impl::push_to_talk(const std::string& channel, bool on) {
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

Result<PlayedClip> Node::Impl::play(const std::string& id, const std::string& out,
                                    VoiceFileFormat format) {
  SOTTO_ASSIGN_OR_RETURN(ArchivedClip clip, messenger->find_clip(id));
  return play_clip(clip, out, format);
}

Result<PlaybackState> Node::Impl::play_out(const std::string& id) {
  SOTTO_ASSIGN_OR_RETURN(ArchivedClip clip, messenger->find_clip(id));
  if (!playback) {
    playback = std::make_unique<ClipPlayback>(
        [playback_out = options.playback_out, audio_out = options.audio_out](int frame_samples) {
          return open_playback_sink(playback_out, audio_out, frame_samples);
        });
  }
  return playback->start(clip);
}

std::optional<bool> Node::Impl::lock() {
  if (!options.on_lock) return std::nullopt;
  const bool answers_when_locked = options.on_lock();
  control->deliver_replies_on_close(kLockReplyFlushMs);
  return answers_when_locked;
}

}  // namespace sotto::core
