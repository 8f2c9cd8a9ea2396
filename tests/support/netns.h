// A private Ethernet LAN made of Linux network namespaces, for what loopback cannot show:
// broadcast discovery skips loopback (doc/architecture.md, What the libraries taught us), so it
// needs real interfaces.
//
//   NETNS-br: bridge br0 (no address), one port per host
//       |-- port0 <veth> veth0  in NETNS-h0  10.213.K.10/24
//       |-- port1 <veth> veth1  in NETNS-h1  10.213.K.11/24
//       ...
//
// NETNS is "sotto-t<pid>-<n>", unique per lab. Everything is created inside those namespaces:
// no interface, address or route of the host is touched, and nothing is routed out (no
// gateway, no NAT). The destructor kills what still runs in them and deletes them, on failure too;
// a lab left behind by a killed test run is deleted by the next run (its pid is gone).
//
// Header-only, because the bench (tests/bench, which links only temp_dir.cpp of tests/support)
// uses it as well as the test binary. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2;
// NetnsLab::create says why not otherwise, so callers can skip instead of fail.
// Thread-safety: one thread; run_in_netns blocks until its function returns.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace sotto::test {

struct IpResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// iproute2's `ip`, or empty when it is not installed.
inline std::string ip_binary() {
  for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs `ip args...` and waits for it.
inline IpResult run_ip(const std::vector<std::string>& args) {
  IpResult result;
  const std::string ip = ip_binary();
  if (ip.empty()) {
    result.output = "iproute2 (ip) is not installed";
    return result;
  }
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  std::vector<char*> argv{const_cast<char*>(ip.c_str())};
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, ip.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    result.output = "cannot start " + ip + ": " + std::strerror(rc);
    return result;
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// Throws with the command and what it printed when `ip args...` fails.
inline std::string must_ip(const std::vector<std::string>& args) {
  IpResult result = run_ip(args);
  if (result.exit_code != 0) {
    std::string command = "ip";
    for (const auto& arg : args) command += " " + arg;
    throw std::runtime_error(command + " failed (" + std::to_string(result.exit_code) +
                             "): " + result.output);
  }
  return result.output;
}

// Runs `fn` on a fresh thread that has joined network namespace `netns` (setns affects only the
// calling thread), and rethrows what it threw. Sockets keep the namespace they were created in,
// so a socket made (or a ZeroMQ socket bound) inside `fn` may be used from any thread afterwards.
// REQUIRES: `fn` makes no Catch2 assertion (they are not thread-safe).
inline void run_in_netns(const std::string& netns, const std::function<void()>& fn) {
  std::exception_ptr error;
  std::thread thread([&] {
    try {
      const std::string path = "/var/run/netns/" + netns;
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
      const int joined = ::setns(fd, CLONE_NEWNET);
      const int saved = errno;
      ::close(fd);
      if (joined != 0) throw std::runtime_error("setns " + path + ": " + std::strerror(saved));
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  thread.join();
  if (error) std::rethrow_exception(error);
}

// A program run in a namespace as `ip netns exec NETNS program args...` (ip execs the program,
// so pid() is the program itself). Its stdout and stderr are read line by line. The destructor
// stops it: SIGTERM, then SIGKILL after a grace period. It also gets SIGTERM when the thread
// that started it dies (PR_SET_PDEATHSIG), so a test killed by its timeout leaves no daemon.
// REQUIRES: started from a thread that outlives it (the test's main thread).
class NetnsChild {
 public:
  struct Line {
    std::string text;
    std::chrono::steady_clock::time_point read_at;  // when this process read it
  };

  NetnsChild(const std::string& netns, const std::vector<std::string>& command) {
    const std::string ip = ip_binary();
    if (ip.empty()) throw std::runtime_error("iproute2 (ip) is not installed");
    std::vector<std::string> args = {ip, "netns", "exec", netns};
    args.insert(args.end(), command.begin(), command.end());
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(out[0]);
      ::close(out[1]);
      throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      const int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, 0);
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    pid_ = pid;
    out_fd_ = out[0];
  }
  ~NetnsChild() {
    stop();
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  NetnsChild(const NetnsChild&) = delete;
  NetnsChild& operator=(const NetnsChild&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // The next complete line (after those already returned) that contains `needle`, within
  // `deadline`; nullopt on timeout or when the program closed its output.
  std::optional<Line> wait_for_line(const std::string& needle, std::chrono::milliseconds deadline) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      size_t eol;
      while ((eol = output_.find('\n', consumed_)) != std::string::npos) {
        std::string line = output_.substr(consumed_, eol - consumed_);
        consumed_ = eol + 1;
        if (line.find(needle) != std::string::npos) {
          return Line{std::move(line), std::chrono::steady_clock::now()};
        }
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            end - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0 || !read_some(static_cast<int>(left))) return std::nullopt;
    }
  }

  // Everything it printed so far.
  const std::string& output() {
    while (read_some(0)) {
    }
    return output_;
  }

  // SIGTERM, then SIGKILL when it has not exited after `grace`. Returns the exit code, or
  // 128 + signal when a signal ended it; -1 when it was not running.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000)) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + grace;
    int status = 0;
    for (;;) {
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_ || (done < 0 && errno != EINTR)) break;
      if (std::chrono::steady_clock::now() >= end) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      read_some(2);  // keep the pipe drained while it shuts down
    }
    pid_ = -1;
    output();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  // Reads what is there within `timeout_ms`; false when nothing more will come or it timed out.
  bool read_some(int timeout_ms) {
    if (out_fd_ < 0) return false;
    pollfd fd{out_fd_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, timeout_ms);
    if (ready < 0) return errno == EINTR;
    if (ready == 0) return false;
    char buffer[4096];
    const ssize_t n = ::read(out_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      ::close(out_fd_);
      out_fd_ = -1;
      return false;
    }
    output_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string output_;
  size_t consumed_ = 0;
};

class NetnsLab {
 public:
  struct Host {
    std::string netns;      // run programs here: ip netns exec NETNS ...
    std::string interface;  // its end of the veth pair, e.g. "veth0"
    std::string address;    // its IPv4 address, e.g. "10.213.7.10"
  };

  // A lab with an empty bridge, or nullptr with the reason in `why_not` (not root, no iproute2,
  // `ip netns add` refused): the caller skips rather than fails.
  static std::unique_ptr<NetnsLab> create(std::string& why_not) {
    if (::geteuid() != 0) {
      why_not = "network namespaces need root (running as uid " + std::to_string(::geteuid()) + ")";
      return nullptr;
    }
    if (ip_binary().empty()) {
      why_not = "iproute2 (ip) is not installed";
      return nullptr;
    }
    remove_stale_labs();
    static std::atomic<int> next_lab{0};
    const int n = next_lab++;
    std::unique_ptr<NetnsLab> lab(new NetnsLab(
        "sotto-t" + std::to_string(::getpid()) + "-" + std::to_string(n), 1 + n % 254));
    const std::string bridge_ns = lab->prefix_ + "-br";
    IpResult added = run_ip({"netns", "add", bridge_ns});
    if (added.exit_code != 0) {
      why_not = "ip netns add " + bridge_ns + " failed: " + added.output;
      return nullptr;
    }
    lab->namespaces_.push_back(bridge_ns);
    // A kernel without bridge or veth support is a reason to skip too (the lab is deleted).
    for (const std::vector<std::string>& probe :
         {std::vector<std::string>{"-n", bridge_ns, "link", "add", "br0", "type", "bridge"},
          std::vector<std::string>{"-n", bridge_ns, "link", "add", "probe0", "type", "veth", "peer",
                                   "name", "probe1"},
          std::vector<std::string>{"-n", bridge_ns, "link", "del", "probe0"}}) {
      IpResult result = run_ip(probe);
      if (result.exit_code != 0) {
        why_not = "ip " + probe[2] + " " + probe[3] + " " + probe[4] + " in " + bridge_ns +
                  " failed: " + result.output;
        return nullptr;
      }
    }
    // From here on a failure is a failure, not a reason to skip.
    must_ip({"-n", bridge_ns, "link", "set", "lo", "up"});
    must_ip({"-n", bridge_ns, "link", "set", "br0", "up"});
    return lab;
  }

  ~NetnsLab() {
    // Hosts first (deleting one destroys its veth pair), the bridge last.
    for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) delete_namespace(*it);
  }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  // A new namespace with lo up and a veth into the bridge, addressed 10.213.K.(10 + index)/24
  // with a broadcast address. Throws std::runtime_error when `ip` fails.
  Host add_host() {
    const int index = static_cast<int>(hosts_.size());
    if (index >= 200) throw std::runtime_error("NetnsLab: too many hosts");
    Host host;
    host.netns = prefix_ + "-h" + std::to_string(index);
    host.interface = "veth" + std::to_string(index);
    host.address = subnet() + "." + std::to_string(10 + index);
    const std::string port = "port" + std::to_string(index);
    const std::string bridge_ns = namespaces_.front();
    must_ip({"netns", "add", host.netns});
    namespaces_.push_back(host.netns);
    must_ip({"-n", host.netns, "link", "set", "lo", "up"});
    // Both ends are made inside the lab: the host's own namespace never sees them.
    must_ip({"-n", host.netns, "link", "add", host.interface, "type", "veth", "peer", "name", port,
             "netns", bridge_ns});
    must_ip({"-n", bridge_ns, "link", "set", port, "master", "br0"});
    must_ip({"-n", bridge_ns, "link", "set", port, "up"});
    must_ip(
        {"-n", host.netns, "addr", "add", host.address + "/24", "brd", "+", "dev", host.interface});
    must_ip({"-n", host.netns, "link", "set", host.interface, "up"});
    hosts_.push_back(host);
    return host;
  }

  // Pulls host `index`'s cable out of the bridge (its bridge port goes down) or plugs it back
  // in: a partition that neither side can tell from a quiet peer (the host's interface keeps
  // its address; only its carrier drops). Throws std::runtime_error when `ip` fails.
  void set_connected(size_t index, bool connected) {
    must_ip({"-n", namespaces_.front(), "link", "set", "port" + std::to_string(index),
             connected ? "up" : "down"});
  }

  // "10.213.K": the lab's /24.
  std::string subnet() const { return "10.213." + std::to_string(subnet_octet_); }
  std::string broadcast_address() const { return subnet() + ".255"; }
  const std::vector<Host>& hosts() const { return hosts_; }

 private:
  NetnsLab(std::string prefix, int subnet_octet)
      : prefix_(std::move(prefix)), subnet_octet_(subnet_octet) {}

  static std::vector<std::string> namespace_names() {
    std::vector<std::string> names;
    std::istringstream lines(run_ip({"netns", "list"}).output);
    std::string line;
    while (std::getline(lines, line)) {
      const std::string name = line.substr(0, line.find(' '));
      if (!name.empty()) names.push_back(name);
    }
    return names;
  }

  // Ends what still runs in `netns` (only our own children can be there), then deletes it.
  static void delete_namespace(const std::string& netns) {
    std::istringstream pids(run_ip({"netns", "pids", netns}).output);
    for (long pid; pids >> pid;) {
      if (pid > 1 && pid != ::getpid()) ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
    run_ip({"netns", "del", netns});
  }

  // Labs of earlier test runs that were killed before their destructors ran.
  static void remove_stale_labs() {
    const std::string mark = "sotto-t";
    for (const std::string& name : namespace_names()) {
      if (name.rfind(mark, 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + mark.size(), nullptr, 10);
      if (pid <= 0 || pid == ::getpid()) continue;
      if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
      delete_namespace(name);
    }
  }

  std::string prefix_;
  int subnet_octet_;
  std::vector<std::string> namespaces_;  // the bridge's first
  std::vector<Host> hosts_;
};

}  // namespace sotto::test
