#include <catch2/catch.hpp>

#include "sotto/base/clock.h"
#include "sotto/net/peer_liveness.h"

using namespace sotto;
using net::PeerState;

TEST_CASE("a peer is online only after our handshake and its traffic, in either order",
          "[net][liveness]") {
  FakeClock clock;
  net::PeerLiveness peer({}, clock.now_ms());
  CHECK(peer.state() == PeerState::kDiscovered);
  CHECK(peer.on_connecting(clock.now_ms()));
  CHECK(peer.state() == PeerState::kConnecting);
  SECTION("handshake first") {
    CHECK_FALSE(peer.on_handshake(clock.now_ms()));
    CHECK(peer.state() == PeerState::kConnecting);
    CHECK(peer.on_traffic(clock.now_ms()));
  }
  SECTION("traffic first") {
    CHECK_FALSE(peer.on_traffic(clock.now_ms()));
    CHECK(peer.state() == PeerState::kConnecting);
    CHECK(peer.on_handshake(clock.now_ms()));
  }
  CHECK(peer.state() == PeerState::kOnline);
}

TEST_CASE("a beacon alone never makes a peer online", "[net][liveness]") {
  FakeClock clock;
  net::PeerLiveness peer({}, clock.now_ms());
  peer.on_connecting(clock.now_ms());
  for (int i = 0; i < 10; ++i) {
    clock.advance_ms(1000);
    CHECK_FALSE(peer.on_beacon(clock.now_ms()));
    peer.tick(clock.now_ms());
  }
  CHECK(peer.state() == PeerState::kConnecting);
}

TEST_CASE("silence makes an online peer evasive, then offline; traffic brings it back",
          "[net][liveness]") {
  FakeClock clock;
  net::LivenessTimeouts timeouts;
  net::PeerLiveness peer(timeouts, clock.now_ms());
  peer.on_connecting(clock.now_ms());
  peer.on_handshake(clock.now_ms());
  peer.on_traffic(clock.now_ms());
  REQUIRE(peer.state() == PeerState::kOnline);
  CHECK(peer.next_deadline_ms() == clock.now_ms() + timeouts.evasive_ms);

  clock.advance_ms(timeouts.evasive_ms - 1);
  CHECK_FALSE(peer.tick(clock.now_ms()));
  clock.advance_ms(1);
  CHECK(peer.tick(clock.now_ms()));
  CHECK(peer.state() == PeerState::kEvasive);
  CHECK(peer.is_online());

  CHECK(peer.on_traffic(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOnline);

  clock.advance_ms(timeouts.offline_ms);
  CHECK(peer.tick(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOffline);
  CHECK_FALSE(peer.is_online());
  CHECK(peer.next_deadline_ms() == INT64_MAX);

  // It comes back through a fresh sign of life; the link itself never dropped.
  CHECK(peer.on_traffic(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOnline);
}

TEST_CASE("a dropped link makes a peer offline at once and it needs a new handshake",
          "[net][liveness]") {
  FakeClock clock;
  net::PeerLiveness peer({}, clock.now_ms());
  peer.on_connecting(clock.now_ms());
  peer.on_handshake(clock.now_ms());
  peer.on_traffic(clock.now_ms());
  CHECK(peer.on_link_down(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOffline);
  clock.advance_ms(100);
  CHECK_FALSE(peer.on_traffic(clock.now_ms()));  // not authenticated again yet
  CHECK(peer.state() == PeerState::kOffline);
  CHECK(peer.on_handshake(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOnline);
}

TEST_CASE("a failed handshake takes an online peer offline", "[net][liveness]") {
  FakeClock clock;
  net::PeerLiveness peer({}, clock.now_ms());
  peer.on_connecting(clock.now_ms());
  CHECK_FALSE(peer.on_handshake_failed(clock.now_ms()));
  peer.on_handshake(clock.now_ms());
  peer.on_traffic(clock.now_ms());
  CHECK(peer.on_handshake_failed(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOffline);
}

TEST_CASE("live beacons keep a peer we hold no link to online for about three intervals",
          "[net][liveness]") {
  FakeClock clock;
  net::PeerLiveness peer({}, clock.now_ms());
  CHECK(peer.on_live_beacon(clock.now_ms(), 1000));
  CHECK(peer.state() == PeerState::kOnline);
  clock.advance_ms(2499);
  CHECK_FALSE(peer.tick(clock.now_ms()));
  clock.advance_ms(1);
  CHECK(peer.tick(clock.now_ms()));
  CHECK(peer.state() == PeerState::kEvasive);
  CHECK(peer.on_live_beacon(clock.now_ms(), 10'000));  // the sender slowed down, and said so
  clock.advance_ms(24'999);
  CHECK_FALSE(peer.tick(clock.now_ms()));
  clock.advance_ms(10'000);
  peer.tick(clock.now_ms());
  CHECK(peer.state() == PeerState::kEvasive);
  clock.advance_ms(1);
  CHECK(peer.tick(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOffline);
  CHECK_FALSE(peer.on_beacon(clock.now_ms()));  // a beacon not proved live changes nothing
}

TEST_CASE(
    "a peer online on its beacons stays online while our link to it comes up, and goes "
    "offline if the link fails",
    "[net][liveness]") {
  FakeClock clock;
  net::PeerLiveness peer({}, clock.now_ms());
  peer.on_live_beacon(clock.now_ms(), 1000);
  CHECK_FALSE(peer.on_connecting(clock.now_ms()));
  clock.advance_ms(100);
  CHECK_FALSE(peer.tick(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOnline);
  CHECK(peer.on_handshake_failed(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOffline);
}

TEST_CASE("closing our idle link leaves a peer online on its own traffic", "[net][liveness]") {
  FakeClock clock;
  net::PeerLiveness peer({}, clock.now_ms());
  peer.on_connecting(clock.now_ms());
  peer.on_handshake(clock.now_ms());
  peer.on_traffic(clock.now_ms());
  REQUIRE(peer.state() == PeerState::kOnline);
  CHECK_FALSE(peer.on_link_closed(clock.now_ms()));
  clock.advance_ms(1000);
  CHECK_FALSE(peer.on_traffic(clock.now_ms()));
  CHECK(peer.state() == PeerState::kOnline);
}
