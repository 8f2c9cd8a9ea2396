// Discovery: who is out there, and who a connection's key belongs to. Beacons (broadcast, and
// unicast to and from --peer hosts) are checked at the door in order of cost — the per-source
// budget, the network seal, the shared signature budget, the signature, the per-identity budget —
// then against what we know: our own echo, a source port that is not the beacon's, a --peer pin,
// our own key, a key another identity proved. What passes goes to the PeerTable. Hellos are the
// proof of a transport key: checked against the same signature budget, then bound in the table.
// Every drop is counted by reason (doc/protocol.md).
//
// What it costs a LAN of N nodes (doc/architecture.md, Discovery): a node answers a beacon only
// when it has to (the sender is new to it, not online, or moved; or the beacon carries a
// challenge to echo), and broadcasts its own at an interval that starts at beacon_interval_ms
// and doubles per quiet interval up to beacon_interval_max_ms, back to the start on any change
// (a new peer, a peer lost). Each beacon announces the interval to its next, so a peer we hold no
// link to is online while its live beacons keep coming (net/beacon_freshness.h).
// Thread-safety: none; the node's loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/clock.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/node.h"
#include "sotto/net/beacon.h"
#include "sotto/net/broadcast_beacon.h"
#include "sotto/net/poller.h"
#include "sotto/net/udp_socket.h"
#include "src/core/counters.h"
#include "src/core/peer_table.h"
#include "src/core/rate_limit.h"
#include "src/core/recent_table.h"
#include "src/net/wire.h"

namespace sotto::core {

struct DiscoveryOptions {
  std::vector<PeerSpec> peers;             // --peer hosts: probed until online, pins checked
  std::optional<SecretBytes> network_key;  // seals every beacon (--network-key-file)
  int beacon_interval_ms = 1000;           // the broadcast interval at start and after a change
  int beacon_interval_max_ms = 30'000;     // ... and once the LAN has been quiet for a while
  // A linked peer that is still there says so at least this often (its heartbeats): until its
  // traffic is this much overdue, a probe would tell nothing its frames did not.
  int heartbeat_ms = 1000;
};

class Discovery {
 public:
  // REQUIRES: every reference outlives the discovery.
  static Result<std::unique_ptr<Discovery>> create(DiscoveryOptions options, Account& account,
                                                   const Clock& clock, net::Poller& poller,
                                                   PeerTable& peers, Counters& counters);
  ~Discovery();

  // Listens for broadcast beacons on `interface` (any when empty); host() is where it found
  // the LAN.
  Status open_broadcast(const std::string& interface, uint16_t port);
  const net::BroadcastBeacon* broadcast() const { return broadcast_.get(); }
  // The unicast beacon socket: bound to the TCP port's number, as every honest sender's is.
  Status bind_unicast(const std::string& host, uint16_t port);
  // Signs our beacons for the transport's `port` and starts broadcasting them.
  Status announce(uint16_t port);

  // Broadcasts our beacon when it is due. Probes each --peer host once per beacon_interval_ms
  // while its own frames do not show it is there: until it is online, and after that (with a
  // challenge, so its answer is a sign of life) when it holds no link to us.
  void tick();
  // When tick() has something to do next.
  int64_t next_deadline_ms() const;
  // A host to probe as a --peer one from now on (a contact's mailbox, from its signed record);
  // false when it is probed already or too many were added.
  bool add_peer(const PeerSpec& spec);
  // Something changed on the LAN (a peer lost): the next broadcast comes at the start interval.
  void quicken();
  // The broadcast interval now.
  int64_t interval_ms() const { return interval_ms_; }

  // A Hello over a key nobody proved yet: the identity it proves (now bound to `key`), or
  // nullopt (counted) when it proves nothing.
  std::optional<std::string> prove(const Bytes& key, const wire::Hello& hello);
  // A Hello over a proved key: the proof again (one per connection; rate-limited, as each costs
  // a signature check), then the name or the digest it carries. True when the name or digest
  // changed.
  bool on_hello(const Bytes& key, PeerTable::Peer& peer, const wire::Hello& hello);

 private:
  struct Configured;
  Discovery(DiscoveryOptions options, Account& account, const Clock& clock, net::Poller& poller,
            PeerTable& peers, Counters& counters);
  void on_udp();
  void on_broadcast(net::Datagram datagram);
  void on_beacon(net::Datagram datagram, bool unicast);
  std::optional<Bytes> open_seal(net::Datagram& datagram);
  bool claim_allowed(const net::Beacon& beacon, const std::string& fingerprint,
                     const net::Datagram& datagram, bool unicast);
  bool source_allowed(const std::string& source);
  // Proves the beacon fresh (an echo of our challenge, or a live one from an anchored peer).
  bool prove_live(const net::Beacon& beacon, const std::string& fingerprint);
  // Answers: an echo of its challenge, our challenge when we need a proof, or just our beacon.
  void answer(const net::Beacon& beacon, PeerTable::Peer& peer, const net::Datagram& datagram,
              bool need_proof);
  bool should_reply(const std::string& host, uint16_t port);
  // The challenge pending for the peer, or a new one.
  uint64_t challenge(PeerTable::Peer& peer);
  // Probes `configured` if it is due; returns when it is due next.
  int64_t probe(Configured& configured);
  // When `configured`, whose host's peer is `peer` (if known), is next probed: an interval after
  // our last probe, or an interval after the peer's own next heartbeat was due, whichever is
  // later (its traffic shows it is there; counted from its last frame only, a probe raced every
  // heartbeat).
  int64_t probe_due_ms(const Configured& configured, const PeerTable::Peer* peer) const;
  // Our beacon, signed now: `reply` flag, `echo` of a challenge, our own `nonce` (0: none).
  Bytes signed_beacon(bool reply, uint64_t echo, uint64_t nonce);
  void broadcast_now();
  // While the LAN is stable (our interval at its maximum) the LAN's beacons are read once per
  // kDeferredReadMs, in one go, instead of waking the loop for each: the cost of a beacon is
  // then its signature check, and a node's idle cost stays nearly flat as the LAN grows. Any
  // change (a new or lost peer) makes them prompt again.
  void read_beacons_if_stable();
  void send_beacon(const std::string& host, uint16_t port, const Bytes& beacon);
  const Configured* configured_for(const std::string& host, uint16_t port) const;
  int64_t now() const { return clock_.now_ms(); }
  void count(Counter counter) { counters_.add(counter); }

  DiscoveryOptions options_;
  Account& account_;
  const Clock& clock_;
  net::Poller& poller_;
  PeerTable& peers_;
  Counters& counters_;
  std::optional<net::BeaconSealer> sealer_;
  std::unique_ptr<net::BroadcastBeacon> broadcast_;
  net::UdpSocket udp_;
  net::Beacon own_;              // our beacon's fixed fields (port, keys); set by announce()
  int64_t sent_at_base_ms_ = 0;  // our beacons' clock: wall time at announce, then monotonic
  int64_t started_ms_ = 0;
  int64_t interval_ms_ = 0;
  int64_t next_broadcast_ms_ = 0;  // 0: not announced yet
  int64_t last_broadcast_ms_ = 0;
  Bytes last_broadcast_;  // as sent (sealed): it comes back to us
  bool changed_ = true;   // since the last broadcast: the next one keeps the start interval
  int64_t next_deferred_read_ms_ = 0;  // 0: beacons are read as they come
  std::vector<Configured> configured_;
  // The earliest probe due, as tick() last found it (0: at once; INT64_MAX: none configured).
  // The loop asks next_deadline_ms() every round, 50 a second on air, and finding a configured
  // host's peer walks the whole table; between ticks a due time only moves later (traffic
  // arrives), so the kept one at worst wakes the loop early, and tick() sets it anew.
  int64_t next_probe_ms_ = 0;
  RateLimit signature_checks_;
  RateLimit answers_;
  RecentTable<std::string, int64_t> last_reply_ms_;
  RecentTable<std::string, RateLimit> source_limits_;
  RecentTable<Bytes, bool> verified_beacons_;
};

}  // namespace sotto::core
