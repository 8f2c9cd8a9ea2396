// Issue 23 from the attacker's side: what a stranger's beacons and frames can make a node do now
// that links are on demand and peers without a link are online on their beacons. Real nodes on
// 127.0.0.1, a hostile insider with an identity of its own, and beacons signed by a departed
// peer's identity (as a recording would be).
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "sotto/net/beacon.h"
#include "sotto/net/beacon_freshness.h"
#include "sotto/net/udp_socket.h"
#include "src/core/account_internals.h"
#include "tests/support/adversary.h"
#include "tests/support/test_node.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::TestNode;
using test::wait_until;

namespace {

core::NodeOptions with_peer(const std::string& endpoint) {
  core::NodeOptions options = test::loopback_options();
  options.peers.push_back(core::PeerSpec::parse(endpoint).value());
  return options;
}

bool online(TestNode& node, const std::string& fingerprint) {
  auto peer = node.peer(fingerprint);
  return peer &&
         (peer->state == net::PeerState::kOnline || peer->state == net::PeerState::kEvasive);
}

// A beacon of `identity`'s, announcing `port`, signed at `sent_at_ms`: what an eavesdropper who
// recorded it could send again.
Bytes beacon_signed_by(core::Account& identity, uint16_t port, uint64_t sent_at_ms) {
  net::Beacon beacon;
  beacon.port = port;
  beacon.transport_key = identity.transport_public();
  beacon.sent_at_ms = sent_at_ms;
  auto signed_beacon = net::sign_beacon(beacon, core::AccountInternals::signal(identity));
  REQUIRE(signed_beacon.is_ok());
  return net::encode_beacon(signed_beacon.value());
}

// A UDP socket on a port it can name: a unicast beacon must come from the port it announces.
std::pair<net::UdpSocket, uint16_t> udp_with_known_port() {
  for (uint16_t port = 43000; port < 44000; ++port) {
    auto bound = net::UdpSocket::bind("127.0.0.1", port);
    if (bound.is_ok()) return {std::move(bound).value(), port};
  }
  FAIL("no UDP port free in 43000..43999");
  return {net::UdpSocket(), 0};
}

}  // namespace

TEST_CASE("a stranger's beacons, from many identities and many times over, open no link",
          "[node][integration][security][links]") {
  TestNode node("target");
  std::vector<std::unique_ptr<test::HostileInsider>> strangers;
  for (int i = 0; i < 5; ++i) {
    strangers.push_back(std::make_unique<test::HostileInsider>("stranger" + std::to_string(i)));
    for (int n = 0; n < 5; ++n) strangers.back()->announce_to(node.port());
  }
  REQUIRE(wait_until([&] { return node.counter("peers_discovered") == 5; }, 3s));
  CHECK_FALSE(wait_until([&] { return node.counter("links_open") > 0; }, 1s));
  CHECK(node.counter("links_opened_on_demand") == 0);
  CHECK(node.counter("link_handshakes") == 0);
}

TEST_CASE(
    "a stranger's frames keep no link open: the Hello it is owed goes back over a link "
    "that closes once idle, while the stranger goes on talking",
    "[node][integration][security][links]") {
  core::NodeOptions options = test::loopback_options();
  options.link_idle_ms = 300;
  TestNode node("target", std::move(options));
  test::HostileInsider stranger("stranger");
  stranger.announce_to(node.port());
  REQUIRE(wait_until([&] { return node.peer(stranger.fingerprint()).has_value(); }, 2s));
  stranger.connect(node.endpoint(), node.account().transport_public());
  // Our Hello in return: one link, opened for it.
  REQUIRE(wait_until([&] { return node.counter("links_opened_on_demand") == 1; }, 2s));
  // The stranger keeps sending (heartbeats, over its own link to us); ours still closes.
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  uint64_t seq = 0;
  bool closed = false;
  while (std::chrono::steady_clock::now() < until) {
    REQUIRE(stranger.send(test::heartbeat_frame(++seq)));
    closed = closed || node.counter("links_closed_idle") >= 1;
    std::this_thread::sleep_for(50ms);  // the stranger's pace, not a wait for the node
  }
  CHECK(closed);
  CHECK(node.counter("links_open") == 0);
  CHECK(node.counter("links_opened_on_demand") == 1);  // its frames did not reopen it
  CHECK(node.counter("frames_received") >= 10);
}

TEST_CASE(
    "a departed peer's recorded beacons do not bring it back online, sent again at once "
    "or held back and sent later",
    "[node][integration][security][links]") {
  auto alice = std::make_unique<TestNode>("alice");
  TestNode bob("bob", with_peer(alice->endpoint()));
  // Bob dialled Alice; to her he is a stranger, proved alive by the challenge she sent him.
  REQUIRE(wait_until(
      [&] { return online(*alice, bob.fingerprint()) && online(bob, alice->fingerprint()); }, 3s));
  REQUIRE(alice->counter("beacon_proofs") >= 1);

  // What a recorder holds: Bob's beacons, signed while he was here.
  auto [udp, replay_port] = udp_with_known_port();
  const uint64_t now_wall = static_cast<uint64_t>(SteadyClock().wall_ms());
  const Bytes old_one = beacon_signed_by(bob.account(), replay_port, 1);
  const Bytes held_back = beacon_signed_by(bob.account(), replay_port, now_wall);

  const uint64_t proofs = alice->counter("beacon_proofs");
  bob.stop();
  REQUIRE(wait_until([&] { return !online(*alice, bob.fingerprint()); }, 7s));
  // Held back for longer than a LAN delays anything (BeaconFreshness::kDelayToleranceMs): the
  // time passing is what this case is about, not a wait for the node.
  std::this_thread::sleep_for(
      std::chrono::milliseconds(net::BeaconFreshness::kDelayToleranceMs + 500));
  const uint64_t stale = alice->counter("beacon_stale");
  REQUIRE(udp.send_to("127.0.0.1", alice->port(), old_one).is_ok());
  REQUIRE(udp.send_to("127.0.0.1", alice->port(), held_back).is_ok());
  REQUIRE(wait_until([&] { return alice->counter("beacon_stale") >= stale + 2; }, 2s));
  // Alice challenged the sender (she holds Bob offline); nobody there can answer for Bob.
  CHECK_FALSE(wait_until([&] { return online(*alice, bob.fingerprint()); }, 1500ms));
  CHECK(alice->counter("beacon_proofs") == proofs);
}

TEST_CASE("a flood of one beacon is answered once or twice, not once per copy",
          "[node][integration][security][links]") {
  TestNode node("target");
  test::HostileInsider stranger("stranger");
  const uint64_t sent = node.counter("beacons_sent");
  for (int i = 0; i < 100; ++i) stranger.announce_to(node.port());
  REQUIRE(wait_until([&] { return node.counter("beacons_received") >= 100; }, 3s));
  // One answer (a challenge the stranger never echoes), perhaps a second half a second later.
  CHECK(node.counter("beacons_sent") - sent <= 2);
  CHECK(node.counter("beacon_reply_suppressed") + node.counter("beacon_dropped_rate_limit") +
            node.counter("beacon_dropped_identity_rate") >=
        90);
}
