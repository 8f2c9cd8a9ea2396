// PeerLiveness: whether one peer is reachable, as an explicit state machine (STYLE 7).
//
//   discovered --connect--> connecting --handshake + traffic--> online
//   discovered --live beacon or traffic (no link of ours)--> online
//   online --no sign of life for a while--> evasive --longer--> offline
//   evasive --sign of life--> online;   online/evasive --our link down--> offline
//   offline --handshake + traffic, or (no link of ours) a live beacon--> online
//
// Signs of life, and how long each keeps a peer online (then evasive):
// - traffic: any frame from the peer on our ROUTER, which ZAP admitted only for a claimed key and
//   which the node credits only to the identity that proved the key. While we hold a link to the
//   peer ("linked", between connect and close), traffic counts only after our DEALER's handshake
//   authenticated the peer's pinned key, so online also means "our link works". Lasts
//   evasive_ms (then offline_ms).
// - a live beacon: one the table proved fresh (net/beacon_freshness.h); a beacon alone, replayed
//   or not, is only a hint (on_beacon). Lasts 2.5 (then 3.5) of the intervals it announced: the
//   peer missed about three beacons when it goes offline.
// "Handshake" is our DEALER authenticating the peer's pinned transport key (CURVE). Our link
// going down (not closed by us) takes every sign of life with it: the peer may be gone, and only
// a new one brings it back.
// Times are monotonic milliseconds from an injected Clock. Thread-safety: none (loop thread).
#pragma once

#include <cstdint>
#include <string_view>

namespace sotto::net {

enum class PeerState { kDiscovered, kConnecting, kOnline, kEvasive, kOffline };

std::string_view to_string(PeerState state);

struct LivenessTimeouts {
  int64_t evasive_ms = 2500;  // heartbeats go every 1 s: two missed ones
  int64_t offline_ms = 5000;  // doc/protocol.md: offline after 5 s of silence
};

class PeerLiveness {
 public:
  PeerLiveness(LivenessTimeouts timeouts, int64_t now_ms);

  PeerState state() const { return state_; }
  bool is_online() const { return state_ == PeerState::kOnline || state_ == PeerState::kEvasive; }
  // The last sign of life, traffic or live beacon.
  int64_t last_heard_ms() const { return last_heard_ms_; }
  // The last frame from the peer that counts as a sign of life; 0 when none does now.
  int64_t last_traffic_ms() const { return traffic_counts() ? last_traffic_ms_ : 0; }

  // Each returns true when the state changed.
  bool on_connecting(int64_t now_ms);
  bool on_handshake(int64_t now_ms);
  bool on_handshake_failed(int64_t now_ms);
  bool on_link_down(int64_t now_ms);
  // We closed our link on purpose (idle): the peer's own signs of life go on counting.
  bool on_link_closed(int64_t now_ms);
  bool on_traffic(int64_t now_ms);
  // A verified beacon not proved fresh: a hint, which never refreshes liveness.
  bool on_beacon(int64_t now_ms);
  // A beacon proved fresh, announcing its sender's next within `interval_ms`.
  bool on_live_beacon(int64_t now_ms, int64_t interval_ms);
  // Applies the timeouts.
  bool tick(int64_t now_ms);
  // The next time tick() could change the state; INT64_MAX when no timer is pending.
  int64_t next_deadline_ms() const;

 private:
  bool set(PeerState state);
  bool traffic_counts() const;
  int64_t online_until_ms() const;
  int64_t evasive_until_ms() const;
  // The state the signs of life give at `now_ms`: online, evasive, or (none left) offline.
  bool update(int64_t now_ms);

  LivenessTimeouts timeouts_;
  PeerState state_ = PeerState::kDiscovered;
  bool linked_ = false;         // we hold a link (connect called, not closed since)
  bool authenticated_ = false;  // our link's handshake succeeded and has not dropped since
  bool heard_ = false;          // traffic since the last handshake, drop or offline
  int64_t last_heard_ms_ = 0;
  int64_t last_traffic_ms_ = 0;
  int64_t live_beacon_ms_ = 0;
  int64_t beacon_interval_ms_ = 0;  // 0: no live beacon counts
};

}  // namespace sotto::net
