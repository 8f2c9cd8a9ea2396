// A port a test may name for a node (--voice-port) and be sure of: free on 127.0.0.1 now, and
// below the kernel's ephemeral range, so nothing else the test binds to port 0 is given it.
#pragma once

#include <cstdint>

namespace sotto::test {

// A UDP port on 127.0.0.1 that was free when asked, below the ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range). Throws when none of a few thousand is.
uint16_t free_udp_port();

}  // namespace sotto::test
