// PeerTable: the peers this node knows of. Discovery's verified beacons enter here; each peer's
// reachability is its net::PeerLiveness; a full table makes room by forgetting the quietest
// stranger we hold no link to; a link that drops or whose handshake is refused is reopened, at
// once or with backoff.
//
// Links are on demand (doc/architecture.md, Links): the table keeps one to a peer the node has
// standing business with (a contact, a --peer host, frames waiting: LinkControl::wants_link),
// opens one when the node sends a peer something (open_on_demand), and closes a link to anyone
// else once it has carried nothing of ours for link_idle_ms. A channel's co-members are known
// (our name in the Hello, the members' rate limit, never evicted) but get no standing link: a
// channel of hundreds would otherwise be a full mesh, its heartbeats growing with the channel.
// A stranger's beacons and frames never open one.
// It also remembers which identity proved which transport key (a signed Hello), the only proof
// that credits a frame to anyone.
//
// The table drives links through LinkControl (the transport, in a node), so its tests need no
// sockets, and reports every state change through `on_change`.
// Thread-safety: none; the node's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "sotto/net/beacon_freshness.h"
#include "sotto/net/peer_liveness.h"
#include "sotto/net/transport.h"
#include "src/core/counters.h"
#include "src/core/rate_limit.h"

namespace sotto::core {

struct TablePeer {
  PeerInfo info;
  net::PeerLiveness liveness;
  RateLimit inbound;   // a contact or co-member
  RateLimit stranger;  // anyone else: a first message, a bundle request, little more
  RateLimit hellos;
  RateLimit beacons;
  bool known = false;      // a contact or co-member (as of our last Hello or link check)
  bool keep_link = false;  // LinkControl::wants_link, as of the last look
  int64_t last_sent_ms = 0;
  int64_t last_used_ms = 0;  // our last frame to it other than a Hello or heartbeat
  // Whether its beacons are signs of life (net/beacon_freshness.h), and the challenge we sent it
  // to find out (0: none pending).
  net::BeaconFreshness freshness{};
  uint64_t challenge = 0;
  int64_t challenged_at_ms = 0;
  bool hello_pending = false;
  // A refused handshake (often: our link reached the peer before it had our beacon) is not
  // retried by libzmq; the table reopens the link itself, with backoff.
  int64_t relink_at_ms = 0;
  int64_t relink_backoff_ms = 0;
  bool link_up = false;  // the current link completed its handshake
  // A new connection since the peer was last online: frames queued on the old one may be
  // lost, so the outbox starts over. A peer merely quiet for a while (evasive) keeps its place.
  bool link_fresh = false;
};

// What the table asks of the links to its peers.
class LinkControl {
 public:
  virtual ~LinkControl() = default;
  // The ZAP allow-list: `fingerprint` claims `key`, so a client presenting it may connect.
  virtual void admit(const Bytes& key, const std::string& fingerprint) = 0;
  virtual void revoke(const Bytes& key, const std::string& fingerprint) = 0;
  // Opens (or re-targets) our link to the peer, pinned to its key.
  virtual Status connect(const std::string& fingerprint, const std::string& endpoint,
                         const Bytes& key) = 0;
  virtual void disconnect(const std::string& fingerprint) = 0;
  virtual bool has_link(const std::string& fingerprint) const = 0;
  virtual size_t link_count() const = 0;
  // Our signed Hello, or a heartbeat, over the peer's link; false when it could not go.
  virtual bool send_hello(TablePeer& peer) = 0;
  virtual bool send_heartbeat(const std::string& fingerprint) = 0;
  // Whether the node has business with the peer that needs a standing link: a contact, frames
  // waiting for it.
  virtual bool wants_link(const std::string& fingerprint) = 0;
  // Whether the peer is a contact or a co-member: it may read our name, and is never evicted.
  virtual bool knows(const std::string& fingerprint) = 0;
};

struct PeerTableOptions {
  // A carrier's LAN: thousands of peers. A stranger costs its entry (~0.5 KiB: keys, endpoint,
  // rate limits) and no link, so 8192 of them take ~4 MiB.
  size_t max_peers = 8192;
  int64_t link_idle_ms = 30'000;  // a link to a stranger that carried nothing of ours: closed
  int64_t heartbeat_ms = 1000;
  net::LivenessTimeouts liveness;
  double peer_frames_per_s = 20000;
  double peer_burst = 40000;
  double stranger_frames_per_s = 1000;
  double stranger_burst = 2000;
};

class PeerTable {
 public:
  using Peer = TablePeer;
  // Reconnection backoff for a link that never came up: doubles per attempt within these.
  static constexpr int64_t kRelinkInitialMs = 50;
  static constexpr int64_t kRelinkMaxMs = 5000;

  // REQUIRES: `clock`, `links` and `counters` outlive the table.
  PeerTable(PeerTableOptions options, const Clock& clock, LinkControl& links, Counters& counters,
            std::function<void(Peer&)> on_change);

  // A peer's verified beacon: its identity, transport key and where it listens. Makes the entry
  // (evicting a stranger when full) and opens its link if the node wants one; nullptr when the
  // table is full of peers it may not evict. An online peer keeps its address unless the beacon
  // is `live` (proved fresh: a replayed beacon must not move it).
  Peer* on_beacon(const std::string& fingerprint, const Bytes& identity_key,
                  const Bytes& transport_key, const std::string& endpoint, bool configured,
                  bool live = false);
  // A live beacon from the peer, announcing its next within `interval_ms`: a sign of life.
  void on_live_beacon(Peer& peer, int64_t interval_ms);
  // A frame from the peer arrived: a sign of life. True when its state changed (the caller
  // reports it through changed() once it has read the frame).
  bool on_traffic(Peer& peer);
  // The node is about to send the peer something: opens its link if there is none (our Hello
  // goes first). False when no link can be opened.
  bool open_on_demand(Peer& peer);
  // A frame of ours (not a Hello or heartbeat) went over the peer's link: it is in use.
  void note_used(Peer& peer);
  size_t links_open() const;
  void on_link(const std::string& fingerprint, net::LinkEvent event);
  // Liveness timeouts, relinks that are due, pending Hellos and heartbeats, idle links closed.
  // Without `heartbeats`, heartbeats that are due wait (heartbeats_held() says so) for a later
  // tick; everything else goes on.
  void tick(bool heartbeats = true);
  // The last tick held back a heartbeat that was due.
  bool heartbeats_held() const { return heartbeats_held_; }
  // The next time tick() has something to do on its own (liveness deadline or relink), or
  // earlier.
  int64_t next_deadline_ms() const { return earliest_ms_; }
  // Reports a change to the peer (its liveness after traffic, its name) through on_change.
  void changed(Peer& peer);
  // The peer became a contact or co-member: it gets a link and a Hello with our name at once.
  void introduce(const std::string& fingerprint);
  // Drops a peer with its link, its claim on the allow-list and what it proved.
  void forget(const std::string& fingerprint);

  // `fingerprint` proved it holds `key`: its frames are credited to it, and any other
  // identity's claim on the key (a beacon naming someone else's key) goes with its link.
  void bind_key(const Bytes& key, const std::string& fingerprint);
  // The identity that proved `key`, if any.
  const std::string* owner_of(const Bytes& key) const;

  Peer* find(const std::string& fingerprint);
  const Peer* find(const std::string& fingerprint) const;
  // The peer at `endpoint` (the first by fingerprint when several claim it), from an index: a
  // --peer host is looked up on every discovery tick, in a table of thousands.
  Peer* at_endpoint(const std::string& endpoint);
  const Peer* at_endpoint(const std::string& endpoint) const;
  PeerInfo snapshot(const Peer& peer) const;
  std::vector<PeerInfo> list() const;
  size_t size() const { return peers_.size(); }

 private:
  Peer& make_peer(const std::string& fingerprint);
  bool evict_idle_peer();
  bool evictable(const Peer& peer) const;
  bool open_link(Peer& peer, const std::string& endpoint);
  // The only way a peer's endpoint changes: it keeps by_endpoint_ in step.
  void set_endpoint(Peer& peer, const std::string& endpoint);
  // A link the node has no standing business on and that carried nothing of ours for a while.
  bool idle_link(Peer& peer, int64_t now_ms);
  void close_link(Peer& peer);
  void schedule_relink(Peer& peer);
  void relink(Peer& peer);
  void greet(Peer& peer);
  void keep_alive(Peer& peer, int64_t now_ms, bool heartbeats);
  // The peer's deadline may have come sooner: so may earliest_ms_.
  void lower(const Peer& peer);
  int64_t now() const { return clock_.now_ms(); }

  PeerTableOptions options_;
  const Clock& clock_;
  LinkControl& links_;
  Counters& counters_;
  std::function<void(Peer&)> on_change_;
  std::map<std::string, Peer> peers_;
  // (endpoint, fingerprint) of every peer with an endpoint: who is where, for at_endpoint.
  std::set<std::pair<std::string, std::string>> by_endpoint_;
  // Transport key -> the identity that proved it holds it (a signed Hello over a connection
  // authenticated with that key).
  std::map<Bytes, std::string> key_owner_;
  // At or before every peer's next deadline (liveness, relink): a LAN of thousands of peers is
  // walked when one is due, not every round (doc/architecture.md, Links on demand). Each
  // change that can bring a deadline forward lowers it; a deadline pushed back leaves it early,
  // which costs one walk that finds nothing due and sets it anew.
  int64_t earliest_ms_ = std::numeric_limits<int64_t>::max();
  bool heartbeats_held_ = false;
};

}  // namespace sotto::core
