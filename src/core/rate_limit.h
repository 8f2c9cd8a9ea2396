// RateLimit: a token bucket, `rate` tokens per second with at most `burst` saved up. The node's
// flood budgets (beacons, Hellos, frames) are all made of these.
// Thread-safety: none; the node's loop thread.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sotto::core {

class RateLimit {
 public:
  RateLimit(double rate, double burst, int64_t now_ms)
      : rate_(rate), burst_(burst), tokens_(burst), last_ms_(now_ms) {}

  // Takes one token; false (and nothing taken) when the bucket is empty.
  bool take(int64_t now_ms) {
    tokens_ = std::min(burst_, tokens_ + (now_ms - last_ms_) * rate_ / 1000.0);
    last_ms_ = now_ms;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  int64_t last_ms_;
};

}  // namespace sotto::core
