// What a running process costs and which TCP peers it holds, read from outside it in /proc, so a
// figure does not depend on what the process says about itself.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace sotto::test {

// CPU time the process's live threads have used, user and system together, in seconds (ns
// resolution); nullopt once it is gone.
std::optional<double> cpu_seconds(pid_t pid);
// Its resident set (VmRSS of /proc/PID/status) in KiB; 0 when it is gone.
uint64_t rss_kib(int pid);
// The distinct remote IPv4 and IPv6 addresses of ESTABLISHED TCP connections in the process's
// network namespace (/proc/PID/net/tcp and tcp6 show the namespace of PID), loopback left out:
// in a namespace of its own, that is the hosts a node holds links to.
std::set<std::string> established_remotes(pid_t pid);

}  // namespace sotto::test
