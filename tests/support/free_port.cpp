#include "tests/support/free_port.h"

#include <fstream>
#include <random>
#include <stdexcept>

#include "sotto/net/udp_socket.h"

namespace sotto::test {

uint16_t free_udp_port() {
  int ephemeral_low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  const int low = 10000;
  if (ephemeral_low <= low + 1) throw std::runtime_error("free_udp_port: no room below the range");
  // From a random start, so tests run one after another do not all try the same ports first.
  std::random_device seed;
  const int span = ephemeral_low - low;
  const int start = static_cast<int>(seed() % static_cast<unsigned>(span));
  for (int i = 0; i < span; ++i) {
    const auto port = static_cast<uint16_t>(low + (start + i) % span);
    if (net::UdpSocket::bind("127.0.0.1", port).is_ok()) return port;  // closed again here
  }
  throw std::runtime_error("free_udp_port: every port below the ephemeral range is taken");
}

}  // namespace sotto::test
