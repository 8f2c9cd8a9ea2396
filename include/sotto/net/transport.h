// Transport: CurveZMQ links between nodes (doc/protocol.md).
//
// One ROUTER per node is the inbox (CURVE server, bound once); one DEALER per peer (CURVE client,
// pinned to the peer's transport key) carries our messages to that peer. Messages flow
// DEALER -> ROUTER only, so a DEALER's receive side is bounded hard and anything a server pushes
// is dropped and counted. CurveZMQ alone authenticates just the server, so a ZAP handler runs
// here and admits a client only when some identity claimed its transport key (a verified beacon
// or a pin); each inbound frame arrives with the client's authenticated key, and the node decides
// which identity holds that key. Socket monitors turn handshakes and disconnects into link
// events. Oversized frames are refused by libzmq (ZMQ_MAXMSGSIZE) and cost the sender its
// connection.
//
// Beside the links, live voice frames travel as UDP datagrams straight from one node's loop to
// another's (no ZeroMQ I/O thread on either side), each sealed for its one receiver with a key
// only the two transport keys give (crypto::PairSeal). A peer's Hello tells us its datagram port
// (the address is the one its link goes to) and the session its datagrams to us carry; only
// datagrams of a session we were told, from an admitted key, are opened, each number once, and
// the node takes only voice frames this way.
// Thread-safety: one thread (the node's loop) uses a Transport; it registers its sockets with
// that loop's Poller.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/crypto/frame_cipher.h"
#include "sotto/crypto/pair_seal.h"
#include "sotto/net/poller.h"
#include "sotto/net/udp_socket.h"
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
  int heartbeat_ivl_ms = 2500;  // ZMTP pings keep links honest about being alive
  int heartbeat_timeout_ms = 5000;
  int send_hwm = 1000;  // frames queued per peer before new ones are dropped
  // The kernel's send buffer per link. Left to itself it grows to 4 MiB for a peer that stops
  // reading; fixed, a slow member of a channel of 250 holds at most this plus send_hwm frames
  // (the rest it loses, counted), and a LAN link still runs at full speed (a LAN's
  // bandwidth-delay product is a few KiB).
  int link_send_buffer_bytes = 256 * 1024;
  int recv_hwm = 1000;
  // Our DEALERs receive nothing legitimate: messages larger than a handshake command close
  // the connection, and at most this many others wait to be drained (and counted).
  int64_t link_max_inbound_bytes = 1024;
  int link_recv_hwm = 4;
  int reconnect_ivl_ms = 100;
  int reconnect_ivl_max_ms = 2000;
  // A connection attempt unanswered this long is given up and tried again (after the reconnect
  // interval). On a LAN a connect takes a millisecond; one whose SYN went into a dead link would
  // otherwise wait for TCP's own retransmissions (1, 3, 7, 15 s...) after the link is back.
  int connect_timeout_ms = 1000;
  // Live voice datagrams: a sealed datagram this large at most (the frame inside is that less
  // crypto::PairSeal::kOverhead), so none is cut up on any LAN (IPv6's minimum MTU is 1,280).
  // A larger frame goes over the link. 0: no datagram socket, voice goes over the links.
  size_t max_datagram_bytes = 1200;
  uint16_t datagram_port = 0;  // 0: one the system picks
};

enum class LinkEvent {
  kHandshakeSucceeded,  // our DEALER authenticated the peer's key
  kHandshakeFailed,     // wrong key, refused by the peer, or protocol error
  kDisconnected,        // the TCP connection of our DEALER went away
  kMisbehaved,          // the server sent us messages, which no honest sotto node does
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
  uint64_t link_frames_refused = 0;  // messages a server pushed down one of our DEALERs
  uint64_t datagrams_in = 0;         // opened and handed to the node
  uint64_t datagrams_out = 0;
  uint64_t datagrams_refused = 0;     // oversized, malformed, of no known pair, failed to open
  uint64_t datagrams_replayed = 0;    // opened, but its number was taken already or is too old
  uint64_t datagram_send_failed = 0;  // the kernel refused (buffer full, no route)
};

class Transport {
 public:
  struct Callbacks {
    // `client_key`: the CURVE key the sender authenticated with (admitted by the ZAP handler).
    std::function<void(const Bytes& client_key, Bytes frame)> on_frame;
    // A datagram opened with the pair key of `sender_key` (admitted), in the session it told us.
    std::function<void(const Bytes& sender_key, Bytes frame)> on_datagram;
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

  // The ZAP allow-list: `fingerprint` claims `transport_key` (its signed beacon, or a pin), so
  // a client presenting that key may connect. A claim is not proof: the node learns who holds
  // a key from a signed Hello inside the connection. Several identities may claim one key; each
  // revokes only its own claim, and the key is refused once nobody claims it.
  void admit(const Bytes& transport_key, const std::string& fingerprint);
  void revoke(const Bytes& transport_key, const std::string& fingerprint);
  bool admitted(const Bytes& transport_key) const { return claims_.count(transport_key) > 0; }

  // Opens (or re-targets) the DEALER for `fingerprint` to `endpoint`, pinned to `server_key`.
  Status connect(const std::string& fingerprint, const std::string& endpoint,
                 const Bytes& server_key);
  void disconnect(const std::string& fingerprint);
  bool has_link(const std::string& fingerprint) const { return links_.count(fingerprint) > 0; }
  size_t links_open() const { return links_.size(); }

  // Reads and drops whatever servers pushed down our DEALERs, reporting each such link as
  // kMisbehaved. Called on the node's timer: the receive side is bounded by link_recv_hwm.
  void drain_links();

  // Queues one frame for the peer without blocking. Unavailable when its queue is full (the
  // frame is dropped) or there is no link.
  Status send(const std::string& fingerprint, ByteView frame);

  // The UDP port our datagrams come in on (0: none).
  uint16_t datagram_port() const { return datagram_port_; }
  // This run's random session, which our Hello tells every peer (never 0).
  uint64_t datagram_session() const { return datagram_session_; }
  // The number our next datagram to `peer_key` gets: our Hello to it says that everything below
  // is old. Numbers count per receiver, so each sees them without gaps.
  uint64_t next_datagram_number(const Bytes& peer_key) const;
  // `sender_key`'s Hello said its datagrams carry `session` and number `floor` on: from now on
  // those are opened (and no other of that key's), each number once. The same session again
  // keeps the record of numbers taken and raises the floor; 0 forgets the key. A Hello comes
  // over a CURVE connection, so it is fresh: datagrams captured before it, even by a receiver
  // that restarted since, are refused. Unavailable unless the key is admitted.
  Status expect_datagrams(const Bytes& sender_key, uint64_t session, uint64_t floor);
  // Where datagrams to `fingerprint` go: `address` (dotted IPv4, the host its link goes to) and
  // the `port` its Hello gave, sealed for `peer_key` (its transport key). Port 0 removes the
  // route. InvalidArgument for a bad address or key.
  Status set_datagram_route(const std::string& fingerprint, const std::string& address,
                            uint16_t port, const Bytes& peer_key);
  bool has_datagram_route(const std::string& fingerprint) const {
    return routes_.count(fingerprint) > 0;
  }
  // Seals one frame for the peer as a datagram, to go at the next flush_datagrams(). Unavailable
  // when there is no route or the frame is too large for one (send it over the link instead).
  Status send_datagram(const std::string& fingerprint, ByteView frame);
  // Hands every datagram sealed since the last flush to the kernel, without waiting, in one
  // system call (sendmmsg) rather than one per listener; those it refuses are counted
  // (datagram_send_failed).
  void flush_datagrams();

  const TransportStats& stats() const { return stats_; }

 private:
  struct Link;
  struct Route {
    uint32_t ip = 0;  // network byte order
    uint16_t port = 0;
    Bytes peer_key;
    crypto::PairSeal seal;
  };
  struct Inbound {
    Bytes sender_key;
    crypto::PairSeal opener;
    uint64_t floor = 0;  // numbers below it are old
    crypto::ReplayWindow numbers;
  };
  Transport(ZmqContext& context, Poller& poller, Callbacks callbacks);
  Status open_inbox(const TransportOptions& options, ByteView public_key,
                    const SecretBytes& secret_key);
  Status apply_link_options(ZmqSocket& socket);
  void on_zap_request();
  void on_inbox();
  void on_inbox_monitor();
  void on_link_monitor(const std::string& fingerprint);
  Status open_datagrams();
  void on_datagrams();
  // One datagram read: opened when its tag is one we expect and its number is fresh, else counted.
  void accept_datagram(const Bytes& data);
  void forget_inbound(const Bytes& sender_key);

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
  std::map<Bytes, std::set<std::string>> claims_;
  std::map<std::string, std::unique_ptr<Link>> links_;
  UdpSocket datagrams_;
  uint16_t datagram_port_ = 0;
  uint64_t datagram_session_ = 0;
  std::map<Bytes, uint64_t> next_numbers_;  // by receiver key, for the whole run
  std::vector<OutgoingDatagram> outgoing_;  // sealed, not yet flushed
  std::map<std::string, Route> routes_;
  std::map<Bytes, Inbound> inbound_;     // by tag; only admitted keys
  std::map<Bytes, Bytes> inbound_tags_;  // sender key -> its tag in inbound_
  TransportStats stats_;
};

}  // namespace sotto::net
