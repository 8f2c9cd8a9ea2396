// BroadcastBeacon on a real LAN of network namespaces (broadcast skips loopback): two nodes of
// one host share the port and each hears every beacon, a beacon comes back to its sender too,
// and an oversized datagram arrives marked for the caller to drop.
#include "sotto/net/broadcast_beacon.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "sotto/net/poller.h"
#include "tests/support/netns.h"

namespace sotto::net {
namespace {

constexpr uint16_t kPort = 47391;

struct Heard {
  std::vector<Datagram> datagrams;
  std::vector<std::string> payloads() const {
    std::vector<std::string> out;
    for (const auto& d : datagrams) out.emplace_back(d.data.begin(), d.data.end());
    return out;
  }
};

Bytes bytes_of(const std::string& text) {
  return Bytes(text.begin(), text.end());
}

// Polls until `done` or two seconds pass.
void poll_until(Poller& poller, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!done() && std::chrono::steady_clock::now() < deadline) REQUIRE(poller.poll(50).is_ok());
}

}  // namespace

TEST_CASE("broadcast beacons: two nodes on one host both hear each beacon, oversized ones marked",
          "[netns][discovery][beacon]") {
  std::string why_not;
  auto lab = test::NetnsLab::create(why_not);
  if (!lab) {
    WARN("skipped: " << why_not);
    return;
  }
  const test::NetnsLab::Host receiving = lab->add_host();
  const test::NetnsLab::Host sending = lab->add_host();

  std::promise<void> listening;
  std::promise<void> sent;
  auto sent_future = sent.get_future().share();
  Heard first, second;
  std::string host_seen;
  auto receiver = std::async(std::launch::async, [&] {
    test::run_in_netns(receiving.netns, [&] {
      Poller poller;
      auto one = BroadcastBeacon::open(receiving.interface, kPort, poller, [&](Datagram d) {
        first.datagrams.push_back(std::move(d));
      });
      auto two = BroadcastBeacon::open(receiving.interface, kPort, poller, [&](Datagram d) {
        second.datagrams.push_back(std::move(d));
      });
      REQUIRE(one.is_ok());
      REQUIRE(two.is_ok());
      host_seen = one.value()->host();
      listening.set_value();
      sent_future.wait();
      poll_until(poller,
                 [&] { return first.datagrams.size() >= 2 && second.datagrams.size() >= 2; });
      // Ours comes back to us as well as to the other node on the host.
      REQUIRE(one.value()->send(bytes_of("from one")).is_ok());
      poll_until(poller,
                 [&] { return first.datagrams.size() >= 3 && second.datagrams.size() >= 3; });
    });
  });
  listening.get_future().wait();
  test::run_in_netns(sending.netns, [&] {
    Poller poller;
    auto beacon = BroadcastBeacon::open(sending.interface, kPort, poller, [](Datagram) {});
    REQUIRE(beacon.is_ok());
    REQUIRE(beacon.value()->send(bytes_of("hello lan")).is_ok());
    REQUIRE(beacon.value()->send(Bytes(UdpSocket::kMaxDatagram + 100, 0x41)).is_ok());
  });
  sent.set_value();
  receiver.get();

  CHECK(host_seen == receiving.address);
  for (const Heard* heard : {&first, &second}) {
    REQUIRE(heard->datagrams.size() == 3);
    CHECK(heard->payloads()[0] == "hello lan");
    CHECK(heard->datagrams[0].from_address() == sending.address);
    CHECK(heard->datagrams[1].data.size() == UdpSocket::kMaxDatagram + 1);
    CHECK(heard->payloads()[2] == "from one");
    CHECK(heard->datagrams[2].from_address() == receiving.address);
  }
}

TEST_CASE("broadcast beacons: an interface that cannot broadcast is refused with its name",
          "[discovery][beacon]") {
  Poller poller;
  auto on_loopback = BroadcastBeacon::open("lo", kPort, poller, [](Datagram) {});
  REQUIRE_FALSE(on_loopback.is_ok());
  CHECK(on_loopback.status().message() == "interface lo cannot broadcast beacons");
  auto missing = BroadcastBeacon::open("no-such-if0", kPort, poller, [](Datagram) {});
  REQUIRE_FALSE(missing.is_ok());
  CHECK(missing.status().message() == "interface no-such-if0 cannot broadcast beacons");
}

}  // namespace sotto::net
