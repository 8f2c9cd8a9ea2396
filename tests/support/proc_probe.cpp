#include "tests/support/proc_probe.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sotto::test {
namespace {

std::string proc_path(pid_t pid, const std::string& name) {
  return "/proc/" + std::to_string(pid) + "/" + name;
}

// A /proc/net/tcp address, "0A0BD50A:9C40" (IPv4) or 32 hex digits and a port (IPv6), without
// its port, and empty for loopback. The kernel prints the address in network byte order read as
// host-order words, so 127.x.y.z ends in "7F"; an IPv4-mapped IPv6 address counts as its IPv4
// part, so one host is one remote whichever socket family reached it.
std::string remote_host(const std::string& address) {
  std::string host = address.substr(0, address.find(':'));
  const std::string mapped_prefix = "0000000000000000FFFF0000";
  if (host.rfind(mapped_prefix, 0) == 0) host = host.substr(mapped_prefix.size());
  const bool ipv4_loopback = host.size() == 8 && host.compare(6, 2, "7F") == 0;
  const bool ipv6_loopback = host == "00000000000000000000000001000000";
  return ipv4_loopback || ipv6_loopback ? "" : host;
}

void add_established(const std::string& table, std::set<std::string>& remotes) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    if (!(fields >> slot >> local >> remote >> state)) continue;
    constexpr const char* kEstablished = "01";
    if (state != kEstablished) continue;
    const std::string host = remote_host(remote);
    if (!host.empty()) remotes.insert(host);
  }
}

}  // namespace

std::optional<double> cpu_seconds(pid_t pid) {
  // Each live thread's time on a CPU in nanoseconds (its schedstat's first field): a node at
  // idle runs a few milliseconds a second, below what the clock-tick counts of stat resolve.
  std::error_code error;
  double on_cpu_ns = 0;
  bool any = false;
  for (const auto& task : std::filesystem::directory_iterator(proc_path(pid, "task"), error)) {
    std::ifstream schedstat(task.path() / "schedstat");
    unsigned long long ns = 0;
    if (schedstat >> ns) {
      on_cpu_ns += static_cast<double>(ns);
      any = true;
    }
  }
  if (any && !error) return on_cpu_ns / 1e9;
  std::ifstream in(proc_path(pid, "stat"));
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // The command name may hold spaces and parentheses: fields are counted after its last ')'.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(name_end + 2));
  std::string field;
  // utime and stime are fields 14 and 15 of the line, the 12th and 13th after the name.
  for (int i = 0; i < 11; ++i) fields >> field;
  unsigned long long utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

uint64_t rss_kib(int pid) {
  std::ifstream status(proc_path(pid, "status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

std::set<std::string> established_remotes(pid_t pid) {
  std::set<std::string> remotes;
  add_established(proc_path(pid, "net/tcp"), remotes);
  add_established(proc_path(pid, "net/tcp6"), remotes);
  return remotes;
}

}  // namespace sotto::test
