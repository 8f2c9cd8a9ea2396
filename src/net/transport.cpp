#include "sotto/net/transport.h"

#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "sotto/crypto/primitives.h"

namespace sotto::net {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

// Never reused in the process: a monitor's inproc name stays bound until libzmq's reaper has
// taken its socket, so a transport made at the address of one just destroyed could not bind a
// name made from its own address.
std::string unique_suffix() {
  static std::atomic<uint64_t> next{0};
  return std::to_string(next.fetch_add(1, std::memory_order_relaxed));
}
constexpr const char* kZapDomain = "sotto";
constexpr size_t kCurveKeySize = 32;

struct MonitorEvent {
  uint16_t event = 0;
  int32_t value = 0;
};

// A monitor message is [6 bytes: uint16 event, uint32 value][endpoint].
std::optional<MonitorEvent> read_monitor_event(ZmqMonitor& monitor) {
  auto message = monitor.events().receive_message(2);
  if (!message.is_ok() || !message.value() || message.value()->empty()) return std::nullopt;
  const Bytes& head = message.value()->front().data;
  if (head.size() < 6) return std::nullopt;
  MonitorEvent out;
  std::memcpy(&out.event, head.data(), sizeof out.event);
  std::memcpy(&out.value, head.data() + 2, sizeof out.value);
  return out;
}

constexpr int kHandshakeFailedEvents = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                       ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

}  // namespace

struct Transport::Link {
  ZmqSocket dealer;
  ZmqMonitor monitor;  // after the dealer: destroyed first, while the dealer still exists
  std::string endpoint;
  Bytes server_key;
};

Transport::Transport(ZmqContext& context, Poller& poller, Callbacks callbacks)
    : context_(context), poller_(poller), callbacks_(std::move(callbacks)) {}

Result<std::unique_ptr<Transport>> Transport::create(ZmqContext& context, Poller& poller,
                                                     const TransportOptions& options,
                                                     ByteView public_key,
                                                     const SecretBytes& secret_key,
                                                     Callbacks callbacks) {
  if (public_key.size() != kCurveKeySize || secret_key.size() != kCurveKeySize) {
    return Status::invalid_argument("transport keys must be 32 bytes");
  }
  std::unique_ptr<Transport> transport(new Transport(context, poller, std::move(callbacks)));
  SOTTO_RETURN_IF_ERROR(transport->open_inbox(options, public_key, secret_key));
  return transport;
}

Transport::~Transport() {
  for (auto& [fingerprint, link] : links_) {
    poller_.remove_socket(link->monitor.get());
  }
  poller_.remove_socket(inbox_.get());
  poller_.remove_socket(inbox_monitor_.get());
  poller_.remove_socket(zap_.get());
  if (datagrams_.fd() >= 0) poller_.remove_fd(datagrams_.fd());
  // A transport made again on this context at once (node.cpp, bind_sockets) binds the name.
  if (zap_) (void)zap_.unbind(kZapEndpoint);
}

Status Transport::open_inbox(const TransportOptions& options, ByteView public_key,
                             const SecretBytes& secret_key) {
  options_ = options;
  public_key_.assign(public_key.begin(), public_key.end());
  secret_key_ = SecretBytes::copy_of(secret_key.view());

  // The ZAP handler must be bound before any CURVE server socket accepts a connection:
  // without one, libzmq admits every client key.
  SOTTO_ASSIGN_OR_RETURN(zap_, ZmqSocket::create(context_, ZMQ_REP));
  SOTTO_RETURN_IF_ERROR(zap_.bind(kZapEndpoint).with_context("starting the ZAP handler"));

  SOTTO_ASSIGN_OR_RETURN(inbox_, ZmqSocket::create(context_, ZMQ_ROUTER));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_CURVE_SERVER, 1));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_CURVE_SECRETKEY, secret_key_.view()));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_ZAP_DOMAIN, std::string(kZapDomain)));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_MAXMSGSIZE, options.max_frame_bytes));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_HANDSHAKE_IVL, options.handshake_ivl_ms));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_HEARTBEAT_IVL, options.heartbeat_ivl_ms));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_HEARTBEAT_TIMEOUT, options.heartbeat_timeout_ms));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_RCVHWM, options.recv_hwm));
  SOTTO_RETURN_IF_ERROR(inbox_.set(ZMQ_SNDHWM, options.send_hwm));
  const std::string port = options.port == 0 ? "*" : std::to_string(options.port);
  SOTTO_RETURN_IF_ERROR(inbox_.bind("tcp://" + options.bind_address + ":" + port));
  SOTTO_ASSIGN_OR_RETURN(endpoint_, inbox_.get_string(ZMQ_LAST_ENDPOINT));
  const auto colon = endpoint_.rfind(':');
  port_ = static_cast<uint16_t>(std::stoi(endpoint_.substr(colon + 1)));

  const std::string monitor_endpoint = "inproc://sotto-inbox-monitor-" + unique_suffix();
  SOTTO_ASSIGN_OR_RETURN(inbox_monitor_,
                         ZmqMonitor::open(context_, inbox_, monitor_endpoint,
                                          ZMQ_EVENT_DISCONNECTED | kHandshakeFailedEvents));

  poller_.add_socket(zap_.get(), [this] { on_zap_request(); });
  poller_.add_socket(inbox_.get(), [this] { on_inbox(); });
  poller_.add_socket(inbox_monitor_.get(), [this] { on_inbox_monitor(); });
  return open_datagrams();
}

// On the address the inbox is bound to (an interface name resolved to it), on a port of its own.
Status Transport::open_datagrams() {
  if (options_.max_datagram_bytes == 0) return Status::ok();
  do {
    crypto::random_bytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&datagram_session_),
                                            sizeof datagram_session_));
  } while (datagram_session_ == 0);
  const std::string host = endpoint_.substr(6, endpoint_.rfind(':') - 6);  // "tcp://HOST:PORT"
  auto bound = UdpSocket::bind(host, options_.datagram_port);
  if (!bound.is_ok()) return bound.status().with_context("the voice port");
  datagrams_ = std::move(bound).value();
  SOTTO_ASSIGN_OR_RETURN(datagram_port_, datagrams_.local_port());
  poller_.add_fd(datagrams_.fd(), [this] { on_datagrams(); });
  return Status::ok();
}

void Transport::admit(const Bytes& transport_key, const std::string& fingerprint) {
  claims_[transport_key].insert(fingerprint);
}

void Transport::revoke(const Bytes& transport_key, const std::string& fingerprint) {
  auto it = claims_.find(transport_key);
  if (it == claims_.end()) return;
  it->second.erase(fingerprint);
  auto route = routes_.find(fingerprint);
  if (route != routes_.end() && route->second.peer_key == transport_key) routes_.erase(route);
  if (it->second.empty()) {
    claims_.erase(it);
    forget_inbound(transport_key);
  }
}

// ZAP (RFC 27): [version, request id, domain, address, routing id, mechanism, credentials...].
void Transport::on_zap_request() {
  for (;;) {
    auto request = zap_.receive_message(8);
    if (!request.is_ok() || !request.value()) return;
    const auto& parts = *request.value();
    auto text = [&](size_t i) {
      return i < parts.size() ? std::string(parts[i].data.begin(), parts[i].data.end())
                              : std::string();
    };
    std::string status_code = "400";
    std::string status_text = "unknown key";
    std::string user_id;
    if (parts.size() >= 7 && text(0) == "1.0" && text(5) == "CURVE") {
      if (claims_.count(parts[6].data) > 0) {
        status_code = "200";
        status_text = "OK";
        // The key itself, not an identity: which identity holds it is proved later, inside
        // the connection (the node's signed Hello), since a beacon can claim anyone's key.
        user_id = to_hex(parts[6].data);
      }
    } else {
      status_text = "CURVE required";
    }
    if (status_code == "200") {
      ++stats_.zap_admitted;
    } else {
      ++stats_.zap_refused;
    }
    const std::string version = "1.0";
    const std::string request_id = text(1);
    (void)zap_.send({as_bytes(version), as_bytes(request_id), as_bytes(status_code),
                     as_bytes(status_text), as_bytes(user_id), ByteView()});
  }
}

void Transport::on_inbox() {
  // Bounded per call so one busy peer cannot keep the loop from its other work.
  for (int i = 0; i < 256; ++i) {
    auto message = inbox_.receive_message(2);
    if (!message.is_ok()) {
      ++stats_.inbound_dropped;
      continue;
    }
    if (!message.value()) {
      poller_.drained(inbox_.get());
      return;
    }
    auto& parts = *message.value();
    // [routing id][frame]: anything else did not come from a sotto DEALER.
    if (parts.size() != 2 || parts[1].user_id.empty()) {
      ++stats_.inbound_dropped;
      continue;
    }
    auto client_key = from_hex(parts[1].user_id);
    if (!client_key) {
      ++stats_.inbound_dropped;
      continue;
    }
    ++stats_.frames_in;
    if (callbacks_.on_frame) callbacks_.on_frame(*client_key, std::move(parts[1].data));
  }
}

void Transport::on_inbox_monitor() {
  while (auto event = read_monitor_event(inbox_monitor_)) {
    if (event->event == ZMQ_EVENT_DISCONNECTED) ++stats_.inbound_disconnects;
    if (event->event & kHandshakeFailedEvents) ++stats_.handshake_failures;
  }
}

Status Transport::apply_link_options(ZmqSocket& socket) {
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_CURVE_PUBLICKEY, public_key_));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_CURVE_SECRETKEY, secret_key_.view()));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_SNDHWM, options_.send_hwm));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_SNDBUF, options_.link_send_buffer_bytes));
  // Nothing legitimate flows server -> client: a server may push only what fits the
  // handshake's own commands, and only a few of them wait before libzmq stops reading.
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_MAXMSGSIZE, options_.link_max_inbound_bytes));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_RCVHWM, options_.link_recv_hwm));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_HANDSHAKE_IVL, options_.handshake_ivl_ms));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_HEARTBEAT_IVL, options_.heartbeat_ivl_ms));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_HEARTBEAT_TIMEOUT, options_.heartbeat_timeout_ms));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_RECONNECT_IVL, options_.reconnect_ivl_ms));
  SOTTO_RETURN_IF_ERROR(socket.set(ZMQ_CONNECT_TIMEOUT, options_.connect_timeout_ms));
  // Frames wait (up to the HWM) while the connection comes up, so a Hello sent right after
  // connect() is the first thing the peer reads; the node sends time-critical voice only to
  // peers it sees online.
  return socket.set(ZMQ_RECONNECT_IVL_MAX, options_.reconnect_ivl_max_ms);
}

Status Transport::connect(const std::string& fingerprint, const std::string& endpoint,
                          const Bytes& server_key) {
  if (server_key.size() != kCurveKeySize) {
    return Status::invalid_argument("a peer's transport key must be 32 bytes");
  }
  auto existing = links_.find(fingerprint);
  if (existing != links_.end()) {
    if (existing->second->endpoint == endpoint && existing->second->server_key == server_key) {
      return Status::ok();
    }
    disconnect(fingerprint);
  }
  auto link = std::make_unique<Link>();
  SOTTO_ASSIGN_OR_RETURN(link->dealer, ZmqSocket::create(context_, ZMQ_DEALER));
  SOTTO_RETURN_IF_ERROR(link->dealer.set(ZMQ_CURVE_SERVERKEY, server_key));
  SOTTO_RETURN_IF_ERROR(apply_link_options(link->dealer));
  const std::string monitor_endpoint = "inproc://sotto-link-monitor-" + unique_suffix();
  SOTTO_ASSIGN_OR_RETURN(link->monitor,
                         ZmqMonitor::open(context_, link->dealer, monitor_endpoint,
                                          ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                                              kHandshakeFailedEvents));
  SOTTO_RETURN_IF_ERROR(link->dealer.connect(endpoint));
  link->endpoint = endpoint;
  link->server_key = server_key;
  poller_.add_socket(link->monitor.get(), [this, fingerprint] { on_link_monitor(fingerprint); });
  links_[fingerprint] = std::move(link);
  return Status::ok();
}

void Transport::disconnect(const std::string& fingerprint) {
  auto it = links_.find(fingerprint);
  if (it == links_.end()) return;
  poller_.remove_socket(it->second->monitor.get());
  links_.erase(it);
}

void Transport::on_link_monitor(const std::string& fingerprint) {
  auto it = links_.find(fingerprint);
  if (it == links_.end()) return;
  Link& link = *it->second;
  while (auto event = read_monitor_event(link.monitor)) {
    std::optional<LinkEvent> link_event;
    if (event->event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) link_event = LinkEvent::kHandshakeSucceeded;
    if (event->event == ZMQ_EVENT_DISCONNECTED) link_event = LinkEvent::kDisconnected;
    if (event->event & kHandshakeFailedEvents) link_event = LinkEvent::kHandshakeFailed;
    if (link_event && callbacks_.on_link) {
      callbacks_.on_link(fingerprint, *link_event);
      // The callback may have dropped this link.
      if (links_.find(fingerprint) == links_.end()) return;
    }
  }
}

void Transport::drain_links() {
  std::vector<std::string> misbehaved;
  for (auto& [fingerprint, link] : links_) {
    bool any = false;
    for (int i = 0; i < options_.link_recv_hwm + 1; ++i) {
      auto message = link->dealer.receive_message(1);
      if (!message.is_ok()) {
        any = true;  // too many parts: still something the server should not have sent
        ++stats_.link_frames_refused;
        continue;
      }
      if (!message.value()) break;
      any = true;
      ++stats_.link_frames_refused;
    }
    if (any) misbehaved.push_back(fingerprint);
  }
  for (const auto& fingerprint : misbehaved) {
    if (links_.count(fingerprint) > 0 && callbacks_.on_link) {
      callbacks_.on_link(fingerprint, LinkEvent::kMisbehaved);
    }
  }
}

Status Transport::send(const std::string& fingerprint, ByteView frame) {
  auto it = links_.find(fingerprint);
  if (it == links_.end()) {
    ++stats_.send_dropped;
    return Status::unavailable("no link to " + fingerprint);
  }
  Status status = it->second->dealer.send({frame});
  if (status.is_ok()) {
    ++stats_.frames_out;
  } else {
    ++stats_.send_dropped;
  }
  return status;
}

Status Transport::set_datagram_route(const std::string& fingerprint, const std::string& address,
                                     uint16_t port, const Bytes& peer_key) {
  if (port == 0) {
    routes_.erase(fingerprint);
    return Status::ok();
  }
  const std::optional<uint32_t> ip = ipv4_of(address);
  if (!ip) return Status::invalid_argument("not an IPv4 address: " + address);
  auto existing = routes_.find(fingerprint);
  if (existing != routes_.end() && existing->second.ip == *ip && existing->second.port == port &&
      existing->second.peer_key == peer_key) {
    return Status::ok();
  }
  SOTTO_ASSIGN_OR_RETURN(crypto::PairSeal seal, crypto::PairSeal::to(secret_key_, public_key_,
                                                                     peer_key, datagram_session_));
  routes_.erase(fingerprint);
  routes_.emplace(fingerprint, Route{*ip, port, peer_key, std::move(seal)});
  return Status::ok();
}

Status Transport::send_datagram(const std::string& fingerprint, ByteView frame) {
  auto it = routes_.find(fingerprint);
  if (it == routes_.end() || datagrams_.fd() < 0) {
    return Status::unavailable("no datagram route to " + fingerprint);
  }
  if (frame.size() + crypto::PairSeal::kOverhead > options_.max_datagram_bytes) {
    return Status::unavailable("too large for a datagram");
  }
  const Route& route = it->second;
  // Kept by key beyond the route: a route made again (a new port) goes on counting.
  outgoing_.push_back(
      {route.ip, route.port, route.seal.seal(next_numbers_[route.peer_key]++, frame)});
  return Status::ok();
}

void Transport::flush_datagrams() {
  if (outgoing_.empty()) return;
  const size_t refused = datagrams_.send_all(outgoing_);
  stats_.datagrams_out += outgoing_.size() - refused;
  stats_.datagram_send_failed += refused;
  outgoing_.clear();
}

uint64_t Transport::next_datagram_number(const Bytes& peer_key) const {
  auto it = next_numbers_.find(peer_key);
  return it == next_numbers_.end() ? 0 : it->second;
}

Status Transport::expect_datagrams(const Bytes& sender_key, uint64_t session, uint64_t floor) {
  if (session == 0) {
    forget_inbound(sender_key);
    return Status::ok();
  }
  if (!admitted(sender_key)) return Status::unavailable("that transport key is not admitted");
  auto known = inbound_tags_.find(sender_key);
  if (known != inbound_tags_.end()) {
    Inbound& inbound = inbound_.at(known->second);
    if (inbound.opener.session() == session) {
      inbound.floor = std::max(inbound.floor, floor);
      return Status::ok();
    }
  }
  SOTTO_ASSIGN_OR_RETURN(crypto::PairSeal opener,
                         crypto::PairSeal::from(secret_key_, public_key_, sender_key, session));
  forget_inbound(sender_key);
  const Bytes tag = opener.tag();
  inbound_.emplace(tag, Inbound{sender_key, std::move(opener), floor, crypto::ReplayWindow{}});
  inbound_tags_[sender_key] = tag;
  return Status::ok();
}

void Transport::forget_inbound(const Bytes& sender_key) {
  auto it = inbound_tags_.find(sender_key);
  if (it == inbound_tags_.end()) return;
  inbound_.erase(it->second);
  inbound_tags_.erase(it);
}

void Transport::on_datagrams() {
  // Bounded per call, as on_inbox: a flood waits for the next round, the rest is served.
  for (int batch = 0; batch < 16; ++batch) {
    auto received = datagrams_.receive_some(options_.max_datagram_bytes);
    if (!received.is_ok()) return;
    for (const Datagram& datagram : received.value()) accept_datagram(datagram.data);
    // Drained: the socket had fewer than a batch (poll says so again when more come).
    if (received.value().size() < UdpSocket::kMaxBatch) return;
  }
}

void Transport::accept_datagram(const Bytes& data) {
  // A tag nobody told us costs a lookup, not a key agreement or a decryption.
  const std::optional<Bytes> tag =
      data.size() <= options_.max_datagram_bytes ? crypto::PairSeal::tag_of(data) : std::nullopt;
  auto inbound = tag ? inbound_.find(*tag) : inbound_.end();
  if (inbound == inbound_.end()) {
    ++stats_.datagrams_refused;
    return;
  }
  auto opened = inbound->second.opener.open(data);
  if (!opened.is_ok()) {
    ++stats_.datagrams_refused;
    return;
  }
  const uint64_t number = opened.value().number;
  if (number < inbound->second.floor || !inbound->second.numbers.fresh(number)) {
    ++stats_.datagrams_replayed;
    return;
  }
  inbound->second.numbers.accept(number);
  ++stats_.datagrams_in;
  // A copy: the node may revoke the key, and so drop its entry, while it handles the frame.
  const Bytes sender = inbound->second.sender_key;
  if (callbacks_.on_datagram) callbacks_.on_datagram(sender, std::move(opened.value().plaintext));
}

}  // namespace sotto::net
