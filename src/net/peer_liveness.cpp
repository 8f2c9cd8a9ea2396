#include "sotto/net/peer_liveness.h"

#include <limits>

namespace sotto::net {

std::string_view to_string(PeerState state) {
  switch (state) {
    case PeerState::kDiscovered:
      return "discovered";
    case PeerState::kConnecting:
      return "connecting";
    case PeerState::kOnline:
      return "online";
    case PeerState::kEvasive:
      return "evasive";
    case PeerState::kOffline:
      return "offline";
  }
  return "unknown";
}

PeerLiveness::PeerLiveness(LivenessTimeouts timeouts, int64_t now_ms)
    : timeouts_(timeouts), last_heard_ms_(now_ms) {}

bool PeerLiveness::set(PeerState state) {
  if (state_ == state) return false;
  state_ = state;
  return true;
}

bool PeerLiveness::maybe_online(int64_t now_ms) {
  if (authenticated_ && heard_since_handshake_ && now_ms - last_heard_ms_ < timeouts_.evasive_ms) {
    return set(PeerState::kOnline);
  }
  return false;
}

bool PeerLiveness::on_connecting(int64_t) {
  if (state_ == PeerState::kDiscovered) return set(PeerState::kConnecting);
  return false;
}

bool PeerLiveness::on_handshake(int64_t now_ms) {
  authenticated_ = true;
  bool changed = state_ == PeerState::kDiscovered && set(PeerState::kConnecting);
  return maybe_online(now_ms) || changed;
}

bool PeerLiveness::on_handshake_failed(int64_t) {
  authenticated_ = false;
  if (is_online()) return set(PeerState::kOffline);
  return false;
}

bool PeerLiveness::on_link_down(int64_t) {
  authenticated_ = false;
  heard_since_handshake_ = false;
  if (is_online()) return set(PeerState::kOffline);
  return false;
}

bool PeerLiveness::on_traffic(int64_t now_ms) {
  last_heard_ms_ = now_ms;
  heard_since_handshake_ = true;
  return maybe_online(now_ms);
}

bool PeerLiveness::on_beacon(int64_t) {
  // A beacon is a hint only (anyone can replay one); it never refreshes liveness.
  return false;
}

bool PeerLiveness::tick(int64_t now_ms) {
  if (!is_online()) return false;
  const int64_t silent = now_ms - last_heard_ms_;
  if (silent >= timeouts_.offline_ms) {
    heard_since_handshake_ = false;
    return set(PeerState::kOffline);
  }
  if (silent >= timeouts_.evasive_ms) return set(PeerState::kEvasive);
  return false;
}

int64_t PeerLiveness::next_deadline_ms() const {
  if (state_ == PeerState::kOnline) return last_heard_ms_ + timeouts_.evasive_ms;
  if (state_ == PeerState::kEvasive) return last_heard_ms_ + timeouts_.offline_ms;
  return std::numeric_limits<int64_t>::max();
}

}  // namespace sotto::net
