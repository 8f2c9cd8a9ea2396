// Which beacons are signs of life: only after a challenge was echoed, then only newer ones that
// were not held back (net/beacon_freshness.h).
#include <catch2/catch.hpp>

#include "sotto/net/beacon_freshness.h"

using sotto::net::BeaconFreshness;

TEST_CASE("no beacon is live before its sender echoed a challenge", "[net][beacon][security]") {
  BeaconFreshness freshness;
  CHECK_FALSE(freshness.live(1000, 5000));
  CHECK_FALSE(freshness.live(2000, 6000));
}

TEST_CASE("after the echo only later beacons count, and a replay of one already seen never",
          "[net][beacon][security]") {
  BeaconFreshness freshness;
  freshness.anchor(10'000, 500'000);  // our clock 10 s, the sender's 500 s: a gap of -490 s
  CHECK(freshness.live(11'000, 501'000));
  CHECK_FALSE(freshness.live(11'001, 501'000));  // the same beacon again
  CHECK_FALSE(freshness.live(12'000, 500'500));  // an older one
  CHECK(freshness.live(12'000, 502'000));
}

TEST_CASE("a beacon held back longer than the tolerance is stale; a faster one tightens the gap",
          "[net][beacon][security]") {
  BeaconFreshness freshness;
  freshness.anchor(10'000, 500'000);
  // Signed at 501 s, delivered 3 s late.
  CHECK_FALSE(freshness.live(14'000, 501'000));
  CHECK(freshness.live(14'000 + BeaconFreshness::kDelayToleranceMs - 1000, 503'000));
  // One that came faster than the anchor (the echo was itself delayed): the gap shrinks...
  CHECK(freshness.live(14'000, 504'500));
  // ...and what is late against it is stale.
  CHECK_FALSE(freshness.live(17'000, 505'000));
  freshness.forget();
  CHECK_FALSE(freshness.live(18'000, 508'000));
}
