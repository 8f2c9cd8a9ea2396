#include "sotto/net/peer_liveness.h"

#include <algorithm>
#include <limits>

namespace sotto::net {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

// A live beacon keeps its sender online for 2.5 of its announced intervals and evasive up to
// 3.5: one lost beacon costs nothing, a peer that missed about three is gone. The half interval
// is the slack for a beacon sent on time but delayed by the sender's loop or the LAN.
constexpr int64_t kBeaconOnlineHalves = 5;
constexpr int64_t kBeaconEvasiveHalves = 7;

}  // namespace

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

bool PeerLiveness::traffic_counts() const {
  return heard_ && (!linked_ || authenticated_);
}

int64_t PeerLiveness::online_until_ms() const {
  int64_t until = traffic_counts() ? last_traffic_ms_ + timeouts_.evasive_ms : kNever;
  if (beacon_interval_ms_ > 0) {
    until = std::max(until, live_beacon_ms_ + beacon_interval_ms_ * kBeaconOnlineHalves / 2);
  }
  return until;
}

int64_t PeerLiveness::evasive_until_ms() const {
  int64_t until = traffic_counts() ? last_traffic_ms_ + timeouts_.offline_ms : kNever;
  if (beacon_interval_ms_ > 0) {
    until = std::max(until, live_beacon_ms_ + beacon_interval_ms_ * kBeaconEvasiveHalves / 2);
  }
  return until;
}

bool PeerLiveness::update(int64_t now_ms) {
  if (now_ms < online_until_ms()) return set(PeerState::kOnline);
  if (!is_online()) return false;
  if (now_ms < evasive_until_ms()) return set(PeerState::kEvasive);
  heard_ = false;
  beacon_interval_ms_ = 0;
  return set(PeerState::kOffline);
}

bool PeerLiveness::on_connecting(int64_t) {
  linked_ = true;
  if (state_ == PeerState::kDiscovered) return set(PeerState::kConnecting);
  return false;
}

bool PeerLiveness::on_handshake(int64_t now_ms) {
  linked_ = true;
  authenticated_ = true;
  bool changed = state_ == PeerState::kDiscovered && set(PeerState::kConnecting);
  return update(now_ms) || changed;
}

bool PeerLiveness::on_handshake_failed(int64_t now_ms) {
  authenticated_ = false;
  return update(now_ms);
}

bool PeerLiveness::on_link_down(int64_t) {
  authenticated_ = false;
  heard_ = false;
  beacon_interval_ms_ = 0;
  if (is_online()) return set(PeerState::kOffline);
  return false;
}

bool PeerLiveness::on_link_closed(int64_t now_ms) {
  linked_ = false;
  authenticated_ = false;
  return update(now_ms);
}

bool PeerLiveness::on_traffic(int64_t now_ms) {
  last_heard_ms_ = now_ms;
  last_traffic_ms_ = now_ms;
  heard_ = true;
  return update(now_ms);
}

bool PeerLiveness::on_beacon(int64_t) {
  // A beacon is a hint only (anyone can replay one); it never refreshes liveness.
  return false;
}

bool PeerLiveness::on_live_beacon(int64_t now_ms, int64_t interval_ms) {
  last_heard_ms_ = now_ms;
  live_beacon_ms_ = now_ms;
  beacon_interval_ms_ = std::max<int64_t>(interval_ms, 1);
  return update(now_ms);
}

bool PeerLiveness::tick(int64_t now_ms) {
  if (!is_online()) return false;
  return update(now_ms);
}

int64_t PeerLiveness::next_deadline_ms() const {
  if (state_ == PeerState::kOnline) return online_until_ms();
  if (state_ == PeerState::kEvasive) return evasive_until_ms();
  return kNoDeadline;
}

}  // namespace sotto::net
