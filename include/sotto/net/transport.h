// Transport: CurveZMQ links between nodes (DESIGN §4).
//
// One ROUTER per node is the inbox (CURVE server, bound once); one DEALER per peer (CURVE client,
// pinned to the peer's transport key) carries our messages to that peer. Messages flow
// DEALER -> ROUTER only. CurveZMQ alone authenticates just the server, so a ZAP handler runs here
// and admits a client only when its transport key was admitted by the node (a verified beacon
// or a pin); every admitted key maps to an identity fingerprint, which arrives with each
// inbound frame as its ZAP user id. Socket monitors turn handshakes and disconnects into link
// events. Oversized frames are refused by libzmq (ZMQ_MAXMSGSIZE) and cost the sender its
// connection.
// Thread-safety: one thread (the node's loop) uses a Transport; it registers its sockets with
// that loop's Poller.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/net/poller.h"
#include "sotto/net/zmq_socket.h"

namespace sotto::net {

constexpr int64_t kCurveMessageOverhead = 64;

struct TransportOptions {
  // Address to bind: an IPv4 address, or an interface name ("eth0"); port 0 picks one.
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;
  // ZMQ_MAXMSGSIZE counts a message as it travels, sealed in CURVE's MESSAGE command
  // ("\x07MESSAGE", 8-byte nonce, 16-byte tag, a flags byte): a frame of the largest bucket
  // (kMaxFrameSize) plus that box must pass, anything larger is refused.
  int64_t max_frame_bytes = 256 * 1024 + kCurveMessageOverhead;
  int handshake_ivl_ms = 5000;  // a connection that has not authenticated by then is closed
  int heartbeat_ivl_ms = 1000;  // ZMTP pings keep links honest about being alive
  int heartbeat_timeout_ms = 5000;
  int send_hwm = 1000;  // frames queued per peer before new ones are dropped
  int recv_hwm = 1000;
  int reconnect_ivl_ms = 100;
  int reconnect_ivl_max_ms = 2000;
  // A connection attempt unanswered this long is given up and tried again (after the reconnect
  // interval). On a LAN a connect takes a millisecond; one whose SYN went into a dead link would
  // otherwise wait for TCP's own retransmissions (1, 3, 7, 15 s...) after the link is back.
  int connect_timeout_ms = 1000;
};

enum class LinkEvent {
  kHandshakeSucceeded,  // our DEALER authenticated the peer's key
  kHandshakeFailed,     // wrong key, refused by the peer, or protocol error
  kDisconnected,        // the TCP connection of our DEALER went away
};

// Why an inbound message was not handed to the node.
enum class InboundDrop { kUnauthenticated, kMalformed };

struct TransportStats {
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t send_dropped = 0;  // queue full or peer unknown
  uint64_t zap_admitted = 0;
  uint64_t zap_refused = 0;          // handshakes from keys nobody vouched for
  uint64_t inbound_dropped = 0;      // malformed multipart, missing user id
  uint64_t inbound_disconnects = 0;  // connections to our ROUTER that ended (incl. oversized)
  uint64_t handshake_failures = 0;   // on our ROUTER: bad greeting, NULL mechanism, ...
};

class Transport {
 public:
  struct Callbacks {
    std::function<void(const std::string& fingerprint, Bytes frame)> on_frame;
    std::function<void(const std::string& fingerprint, LinkEvent event)> on_link;
  };

  static Result<std::unique_ptr<Transport>> create(ZmqContext& context, Poller& poller,
                                                   const TransportOptions& options,
                                                   ByteView public_key,
                                                   const SecretBytes& secret_key,
                                                   Callbacks callbacks);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  uint16_t port() const { return port_; }
  // "tcp://ADDRESS:PORT" as bound.
  const std::string& endpoint() const { return endpoint_; }

  // The ZAP allow-list: a client presenting `transport_key` is the identity `fingerprint`.
  void admit(const Bytes& transport_key, const std::string& fingerprint);
  void revoke(const Bytes& transport_key);
  bool admitted(const Bytes& transport_key) const { return allowed_.count(transport_key) > 0; }

  // Opens (or re-targets) the DEALER for `fingerprint` to `endpoint`, pinned to `server_key`.
  Status connect(const std::string& fingerprint, const std::string& endpoint,
                 const Bytes& server_key);
  void disconnect(const std::string& fingerprint);
  bool has_link(const std::string& fingerprint) const { return links_.count(fingerprint) > 0; }

  // Queues one frame for the peer without blocking. Unavailable when its queue is full (the
  // frame is dropped) or there is no link.
  Status send(const std::string& fingerprint, ByteView frame);

  const TransportStats& stats() const { return stats_; }

 private:
  struct Link;
  Transport(ZmqContext& context, Poller& poller, Callbacks callbacks);
  Status open_inbox(const TransportOptions& options, ByteView public_key,
                    const SecretBytes& secret_key);
  Status apply_link_options(ZmqSocket& socket);
  void on_zap_request();
  void on_inbox();
  void on_inbox_monitor();
  void on_link_monitor(const std::string& fingerprint);

  ZmqContext& context_;
  Poller& poller_;
  Callbacks callbacks_;
  TransportOptions options_;
  Bytes public_key_;
  SecretBytes secret_key_;
  ZmqSocket inbox_;
  ZmqMonitor inbox_monitor_;  // after inbox_: destroyed first
  ZmqSocket zap_;
  std::string endpoint_;
  uint16_t port_ = 0;
  std::map<Bytes, std::string> allowed_;
  std::map<std::string, std::unique_ptr<Link>> links_;
  uint64_t next_monitor_id_ = 0;
  TransportStats stats_;
};

}  // namespace sotto::net
