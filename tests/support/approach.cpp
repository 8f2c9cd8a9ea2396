#include "tests/support/approach.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "tests/support/wait.h"

using namespace std::chrono_literals;

namespace sotto::test {

void approach(HostileInsider& insider, ProfileNode& victim) {
  const uint64_t proved = victim.counter("transport_keys_proved");
  insider.announce_to(victim.port());
  REQUIRE(wait_until(
      [&] {
        for (const auto& peer : victim.node().peers()) {
          if (peer.fingerprint == insider.fingerprint()) return true;
        }
        return false;
      },
      3s));
  insider.connect(victim.endpoint(), victim.transport_key());
  REQUIRE(wait_until([&] { return victim.counter("transport_keys_proved") > proved; }, 3s));
}

void settled(HostileInsider& insider, ProfileNode& victim) {
  const uint64_t frames = victim.counter("frames_received");
  REQUIRE(insider.send(heartbeat_frame(1)));
  REQUIRE(wait_until([&] { return victim.counter("frames_received") > frames; }, 5s));
}

}  // namespace sotto::test
