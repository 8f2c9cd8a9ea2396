// What the adversarial suite (tests/adversarial/, issue 9) needs beyond the other helpers: a
// reader for the ZeroMQ wire (ZMTP 3, RFC 23/26) that an eavesdropper sees, raw TCP sockets that
// misbehave, an authenticated but hostile peer with a raw CURVE socket, and the figures a test
// asserts on (a process's memory, latency percentiles).
//
// Thread-safety: each object belongs to one thread; the free functions are pure or read /proc.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/core/account.h"
#include "sotto/core/node.h"
#include "sotto/net/udp_socket.h"
#include "tests/support/proc_probe.h"
#include "tests/support/temp_dir.h"

namespace sotto::test {

// --- the ZeroMQ wire --------------------------------------------------------------------------

// The 64-byte ZMTP 3 greeting that opens every stream: signature FF 00*8 7F, version, mechanism
// (20 bytes, NUL-padded), as-server, filler.
constexpr size_t kZmtpGreetingSize = 64;
struct ZmtpGreeting {
  uint8_t major = 0;
  uint8_t minor = 0;
  std::string mechanism;
  bool as_server = false;  // the side that accepted the connection
};
// The greeting at the start of `stream`, or nullopt when it does not start with one.
std::optional<ZmtpGreeting> parse_zmtp_greeting(ByteView stream);

// One ZMTP frame after the greeting: flags (bit 0 more, bit 1 long size, bit 2 command), body.
struct ZmtpFrame {
  uint8_t flags = 0;
  Bytes body;
};
// The frames that follow the greeting of `stream`, up to the first incomplete one.
std::vector<ZmtpFrame> zmtp_frames(ByteView stream);

// A client greeting with `mechanism` ("NULL", "CURVE", ...).
Bytes zmtp3_greeting(const std::string& mechanism);
// What a ZMTP 2.0 peer sends first (signature, revision 1, socket type DEALER): no mechanism at
// all.
Bytes zmtp2_greeting();
// What a ZMTP 1.0 peer sends first: an empty identity frame, no signature and no mechanism.
Bytes zmtp1_greeting();

bool contains(ByteView haystack, ByteView needle);
inline bool contains(ByteView haystack, const std::string& needle) {
  return contains(haystack, as_bytes(needle));
}

// --- misbehaving TCP clients ------------------------------------------------------------------

// A plain TCP connection to HOST:PORT that speaks no protocol unless told to. Non-blocking.
class RawTcp {
 public:
  // Starts a non-blocking connect; throws when no socket can be made.
  RawTcp(const std::string& host, uint16_t port);
  ~RawTcp();
  RawTcp(RawTcp&& other) noexcept;
  RawTcp& operator=(RawTcp&&) = delete;
  RawTcp(const RawTcp&) = delete;
  RawTcp& operator=(const RawTcp&) = delete;

  int fd() const { return fd_; }
  // Writes what the socket takes now (a hostile client does not care about the rest).
  void send(ByteView data);
  // Reads and discards what arrived; true once the other side has closed or reset.
  bool closed();
  // True once the server said anything (a ZeroMQ server greets as soon as it accepts) or closed.
  bool accepted() const { return greeted_ || closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  bool greeted_ = false;
};

// Waits until the server has accepted (see RawTcp::accepted) every connection in `connections`
// from index `first` on. Returns how many of them it accepted.
size_t wait_accepted(std::vector<RawTcp>& connections, size_t first,
                     std::chrono::milliseconds deadline);

// Waits until every connection in `connections` is established (or refused). Returns how many
// are connected.
size_t wait_connected(std::vector<RawTcp>& connections, std::chrono::milliseconds deadline);

// Waits until the node closed every connection; returns, per connection, how long after
// `since` it was seen closed (nullopt: still open at the deadline).
std::vector<std::optional<std::chrono::milliseconds>> wait_closed(
    std::vector<RawTcp>& connections, std::chrono::steady_clock::time_point since,
    std::chrono::milliseconds deadline);

// --- an authenticated, hostile peer -----------------------------------------------------------

// Someone on the LAN with a real identity of its own (identities cost nothing): it announces
// itself to a node with a validly signed unicast beacon, so the node admits its transport key,
// and then talks to the node through a raw ZeroMQ DEALER with CURVE, sending whatever it likes.
class HostileInsider {
 public:
  explicit HostileInsider(const std::string& name);
  // An identity that exists already, e.g. a real member's profile opened while its own node is
  // down: the insider then speaks with that member's keys, and account() reads what it stored.
  explicit HostileInsider(std::unique_ptr<core::Account> account);
  ~HostileInsider();
  HostileInsider(const HostileInsider&) = delete;
  HostileInsider& operator=(const HostileInsider&) = delete;

  core::Account& account() { return *account_; }
  const std::string& fingerprint() const { return account_->fingerprint(); }
  // Sends its signed beacon to the node's unicast beacon socket (127.0.0.1:port).
  void announce_to(uint16_t port);
  // The same, but claiming `transport_key` (someone else's, or the node's own) as its own: a
  // beacon can name any key, since only the identity signs it.
  void announce_claiming(uint16_t port, const Bytes& transport_key);
  // Connects the DEALER to the node's ROUTER, expecting `server_key` (the node's transport key),
  // and queues its signed Hello (hello_frame) so what it sends next is credited to it.
  void connect(const std::string& endpoint, const Bytes& server_key);
  // One ZeroMQ message, without blocking; false when ZeroMQ would block.
  bool send(ByteView frame);
  // Sends `datagram` from its beacon socket to 127.0.0.1:port.
  void send_datagram(uint16_t port, ByteView datagram);

 private:
  void open_sockets();

  TempDir tmp_;
  std::unique_ptr<core::Account> account_;
  net::UdpSocket udp_;
  uint16_t udp_port_ = 0;
  void* context_ = nullptr;
  void* dealer_ = nullptr;
};

// A padded sotto frame (doc/protocol.md) of an Envelope with the given body, as an insider
// would craft it.
Bytes heartbeat_frame(uint64_t seq);
// The datagram session an insider's Hello announces (crypto/pair_seal.h).
constexpr uint64_t kInsiderDatagramSession = 1;
// The signed Hello that `account` sends first on a connection to the node whose transport key is
// `server_key`: without it the node credits nothing from the connection to anyone.
Bytes hello_frame(core::Account& account, ByteView server_key, const std::string& name = "");

// --- what a well-behaved peer experiences meanwhile -----------------------------------------

// Sends a text from `from` to `to` every `interval` on a thread of its own and measures, for each,
// the time until its delivery receipt is back (the receiver has committed it). It also samples
// the resident memory of process `watch_pid` (when not 0) as it goes.
class DeliveryProbe {
 public:
  struct Figures {
    size_t sent = 0;
    std::vector<double> latency_ms;  // one per delivered text
    uint64_t peak_rss_kib = 0;
    std::string error;  // the first failed send, if any
  };

  DeliveryProbe(core::Node& from, std::string to, std::chrono::milliseconds interval,
                int watch_pid = 0);
  ~DeliveryProbe();
  DeliveryProbe(const DeliveryProbe&) = delete;
  DeliveryProbe& operator=(const DeliveryProbe&) = delete;

  // Texts sent so far (thread-safe): a test can wait for enough of them instead of a duration.
  size_t sent() const;
  // Stops sending, waits up to `grace` for the receipts still due, and returns the figures.
  Figures finish(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// --- figures --------------------------------------------------------------------------------

// Open file descriptors of process `pid`.
size_t open_fds(int pid);
// The nearest-rank percentile `p` (0..100) of `values`; 0 when there are none.
double percentile(std::vector<double> values, double p);
// Random bytes (a fixed seed: a failing run can be replayed).
Bytes random_bytes(size_t size, uint32_t seed);
// A name nobody typed before, for needles: PREFIX followed by 16 random lowercase letters.
std::string unique_marker(const std::string& prefix);

}  // namespace sotto::test
