// BeaconFreshness: whether a peer's verified beacon is a sign of life now, or could be a replay.
//
// A signed beacon proves who made it, not when: anyone who heard one can send it again. So a
// peer is first proved alive by a challenge: we send it a random nonce in a unicast beacon, and
// only it can sign a beacon echoing that nonce (anchor()). From then on a beacon is live when
//   - it was signed later than any live beacon before it (its sent_at_ms is larger), and
//   - it is not older than its sender's clock says it should be: the gap between our clock and
//     the sender's (as measured at the anchor, shrinking to the smallest seen since) has not
//     grown by more than kDelayToleranceMs. A beacon held back and sent later has aged.
// The two clocks are never compared with each other, only with themselves: hosts on an isolated
// LAN need not agree on the time. A sender whose clock went back (a restart on a host whose time
// was set back) looks stale until it is challenged again.
// Thread-safety: none (the node's loop thread).
#pragma once

#include <cstdint>

namespace sotto::net {

class BeaconFreshness {
 public:
  // A beacon may arrive this much later than the fastest one from its sender did: the sender's
  // loop, the LAN and ours. Far below a beacon interval, so a replay cannot hide in it.
  static constexpr int64_t kDelayToleranceMs = 2000;

  bool anchored() const { return anchored_; }
  // The sender answered our challenge with a beacon signed at `sent_at_ms`, heard at `now_ms`.
  void anchor(int64_t now_ms, uint64_t sent_at_ms);
  // True (and remembered) when the beacon is live, as above; false when not anchored.
  bool live(int64_t now_ms, uint64_t sent_at_ms);
  void forget() { anchored_ = false; }

 private:
  bool anchored_ = false;
  uint64_t last_sent_at_ms_ = 0;
  int64_t clock_gap_ms_ = 0;  // our clock minus the sender's, the smallest seen
};

}  // namespace sotto::net
