#include "sotto/net/beacon_freshness.h"

#include <algorithm>

namespace sotto::net {

void BeaconFreshness::anchor(int64_t now_ms, uint64_t sent_at_ms) {
  anchored_ = true;
  last_sent_at_ms_ = sent_at_ms;
  clock_gap_ms_ = now_ms - static_cast<int64_t>(sent_at_ms);
}

bool BeaconFreshness::live(int64_t now_ms, uint64_t sent_at_ms) {
  if (!anchored_ || sent_at_ms <= last_sent_at_ms_) return false;
  const int64_t gap = now_ms - static_cast<int64_t>(sent_at_ms);
  if (gap > clock_gap_ms_ + kDelayToleranceMs) return false;
  last_sent_at_ms_ = sent_at_ms;
  clock_gap_ms_ = std::min(clock_gap_ms_, gap);
  return true;
}

}  // namespace sotto::net
