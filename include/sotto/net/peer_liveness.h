// PeerLiveness: whether one peer is reachable, as an explicit state machine (STYLE 7).
//
//   discovered --connect--> connecting --handshake + traffic--> online
//   online --silent > evasive_ms--> evasive --silent > offline_ms--> offline
//   evasive --traffic--> online;   online/evasive --link down--> offline
//   offline --handshake + traffic--> online
//
// "Handshake" is our DEALER authenticating the peer's pinned transport key (CURVE); "traffic" is
// any frame from the peer on our ROUTER, which ZAP admitted only for a verified key. A beacon
// alone never makes a peer online: it is a hint, and a replayed one proves nothing.
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
  int64_t last_heard_ms() const { return last_heard_ms_; }

  // Each returns true when the state changed.
  bool on_connecting(int64_t now_ms);
  bool on_handshake(int64_t now_ms);
  bool on_handshake_failed(int64_t now_ms);
  bool on_link_down(int64_t now_ms);
  bool on_traffic(int64_t now_ms);
  bool on_beacon(int64_t now_ms);
  // Applies the timeouts.
  bool tick(int64_t now_ms);
  // The next time tick() could change the state; INT64_MAX when no timer is pending.
  int64_t next_deadline_ms() const;

 private:
  bool set(PeerState state);
  bool maybe_online(int64_t now_ms);

  LivenessTimeouts timeouts_;
  PeerState state_ = PeerState::kDiscovered;
  bool authenticated_ = false;  // our link's handshake succeeded and has not dropped since
  int64_t last_heard_ms_ = 0;   // last frame from the peer
  bool heard_since_handshake_ = false;
};

}  // namespace sotto::net
