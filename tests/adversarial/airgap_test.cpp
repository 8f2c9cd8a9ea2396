// Issue 9, scenario 8: the air gap (promise 1). A daemon runs under strace in a network
// namespace of its own on a private LAN (tests/support/netns.h) — broadcast discovery on, two
// peers given by --peer (one that exists, one that does not) — and does real work: it finds a
// peer by broadcast, reaches the other by unicast beacon, adds both and texts them. Every address
// it sent to or connected to must be a configured peer, a discovered peer or the LAN's broadcast
// address; nothing may go to port 53, and no name-service file may be opened.
// Needs root and strace; without them the test warns and returns.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/netns.h"
#include "tests/support/process.h"
#include "tests/support/profiles.h"
#include "tests/support/skip.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using test::wait_until;

namespace {

constexpr uint16_t kBeaconPort = 47474;  // NodeOptions' default, which the daemons use
const std::string kPassphrase = "air gap passphrase";

std::string strace_binary() {
  for (const char* path : {"/usr/bin/strace", "/bin/strace"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// A profile on one host of the lab and its daemon there.
struct LanDaemon {
  std::string name;
  test::NetnsLab::Host host;
  std::string dir;
  std::string pass_file;
  std::unique_ptr<test::NetnsChild> child;
  std::string endpoint;  // what the daemon printed: tcp://ADDRESS:PORT

  LanDaemon(std::string n, test::NetnsLab::Host h, const test::TempDir& tmp)
      : name(std::move(n)), host(std::move(h)), dir(tmp / name), pass_file(tmp / (name + ".pass")) {
    test::write_file(pass_file, kPassphrase + "\n");
    test::create_account(dir, name, kPassphrase);
  }

  // `[PREFIX...] sotto daemon --interface IF EXTRA...` in the host's namespace; waits until it
  // listens.
  void start(const std::vector<std::string>& extra, const std::vector<std::string>& prefix = {}) {
    std::vector<std::string> command = prefix;
    for (const std::string& arg :
         {test::sotto_binary(), std::string("--profile"), dir, std::string("--passphrase-file"),
          pass_file, std::string("daemon"), std::string("--interface"), host.interface}) {
      command.push_back(arg);
    }
    command.insert(command.end(), extra.begin(), extra.end());
    child = std::make_unique<test::NetnsChild>(host.netns, command);
    auto line = child->wait_for_line("listening on ", 10s);
    INFO(name << " printed: " << child->output());
    REQUIRE(line);
    endpoint = line->text.substr(line->text.find("listening on ") + 13);
  }
  uint16_t port() const {
    return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }

  test::CommandResult sotto(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--profile", dir});
    return test::run_sotto(args);
  }
  // By its address: a peer shows its name only to its contacts and to the nodes it dialled.
  bool sees_online(const LanDaemon& other) const {
    auto result = sotto({"peers", "--json"});
    if (result.exit_code != 0) return false;
    std::istringstream lines(result.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      const json peer = json::parse(line);
      if (peer.value("endpoint", "") == other.endpoint && peer.value("state", "") == "online") {
        return true;
      }
    }
    return false;
  }
  bool has_text(const std::string& body) const {
    auto result = sotto({"--passphrase-file", pass_file, "--json", "history"});
    return result.exit_code == 0 && result.out.find(body) != std::string::npos;
  }
};

struct Destination {
  std::string call;  // connect, sendto, sendmsg
  std::string family;
  std::string address;
  int port = -1;
  std::string line;
};

// Every destination address in the trace: the sockaddr arguments of connect, sendto and
// sendmsg (strace prints them decoded, also in "<unfinished ...>" halves).
std::vector<Destination> destinations(const std::string& trace) {
  static const std::regex call(R"(\b(connect|sendto|sendmsg|sendmmsg)\()");
  static const std::regex inet(
      R"re(sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([0-9.]+)"\))re");
  static const std::regex other(R"(sa_family=(AF_INET6|AF_PACKET|AF_[A-Z0-9]+))");
  std::vector<Destination> out;
  std::istringstream lines(trace);
  for (std::string line; std::getline(lines, line);) {
    std::smatch which;
    if (!std::regex_search(line, which, call)) continue;
    std::smatch m;
    if (std::regex_search(line, m, inet)) {
      out.push_back({which[1], "AF_INET", m[2], std::stoi(m[1]), line});
    } else if (std::regex_search(line, m, other)) {
      out.push_back({which[1], m[1], "", -1, line});
    }
  }
  return out;
}

// Every path the trace shows opened (openat), whatever the result.
std::vector<std::string> opened_paths(const std::string& trace) {
  static const std::regex openat(R"re(openat\([^,]+, "([^"]*)")re");
  std::vector<std::string> out;
  std::istringstream lines(trace);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, openat)) out.push_back(m[1]);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "a daemon with discovery and --peer, traced for a whole session, sends only to its peers "
    "and the broadcast address and never touches DNS",
    "[adversarial][airgap]") {
  const std::string strace = strace_binary();
  SOTTO_SKIP_UNLESS(!strace.empty(), "strace is not installed (run make deps)");
  std::string why_not;
  auto lab = test::NetnsLab::create(why_not);
  if (!lab) SOTTO_SKIP(why_not);
  test::TempDir tmp;
  std::deque<LanDaemon> nodes;
  LanDaemon& alpha = nodes.emplace_back("alpha", lab->add_host(), tmp);      // traced
  LanDaemon& bravo = nodes.emplace_back("bravo", lab->add_host(), tmp);      // found by broadcast
  LanDaemon& charlie = nodes.emplace_back("charlie", lab->add_host(), tmp);  // given by --peer
  // A configured peer nobody runs: alpha keeps probing it, which is allowed.
  const std::string absent_host = lab->subnet() + ".99";
  const uint16_t absent_port = 40999;

  bravo.start({});
  charlie.start({"--no-discovery"});
  const std::string trace_file = tmp / "alpha.strace";
  alpha.start({"--peer", charlie.endpoint, "--peer",
               "tcp://" + absent_host + ":" + std::to_string(absent_port)},
              {strace, "-f", "-qq", "-e", "trace=network,openat", "-o", trace_file});

  // A whole session: both peers online, contacts added, a text each way with each.
  const bool online =
      wait_until([&] { return alpha.sees_online(bravo) && alpha.sees_online(charlie); }, 8s);
  INFO("alpha printed: " << alpha.child->output());
  REQUIRE(online);
  for (LanDaemon* peer : {&bravo, &charlie}) {
    auto added = alpha.sotto({"add", peer->name});
    INFO(added.err);
    REQUIRE(added.exit_code == 0);
    REQUIRE(alpha.sotto({"send", peer->name, "over the air gap to " + peer->name}).exit_code == 0);
    REQUIRE(wait_until([&] { return peer->has_text("over the air gap to " + peer->name); }, 5s));
    REQUIRE(peer->sotto({"send", "alpha", "back from " + peer->name}).exit_code == 0);
    REQUIRE(wait_until([&] { return alpha.has_text("back from " + peer->name); }, 5s));
  }
  // SIGTERM reaches strace, which passes it on to the daemon and writes the rest of the trace.
  alpha.child->stop();
  std::ifstream in(trace_file);
  const std::string trace((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(trace.find("connect(") != std::string::npos);

  const std::set<std::pair<std::string, int>> allowed = {
      {charlie.host.address, charlie.port()},  // configured
      {absent_host, absent_port},              // configured, absent
      {bravo.host.address, bravo.port()},      // discovered
      {lab->broadcast_address(), kBeaconPort},
  };
  std::set<std::pair<std::string, int>> seen;
  size_t inet_calls = 0;
  for (const Destination& d : destinations(trace)) {
    INFO(d.line);
    if (d.family == "AF_UNIX" || d.family == "AF_NETLINK") continue;  // local: control, ifaces
    CHECK(d.family == "AF_INET");
    CHECK(d.port != 53);
    CHECK(allowed.count({d.address, d.port}) == 1);
    seen.insert({d.address, d.port});
    ++inet_calls;
  }
  INFO(inet_calls << " calls with an IPv4 destination");
  // The session really used every path: broadcast, the discovered peer, both configured ones.
  CHECK(seen == allowed);

  for (const std::string& path : opened_paths(trace)) {
    INFO(path);
    // What a name lookup reads. (Not /etc/nsswitch.conf: glibc reads it for any NSS database,
    // the user database included; nor libresolv.so, which the loader maps for a library that
    // links it — neither asks anyone for a name.)
    for (const char* name_service :
         {"/etc/resolv.conf", "/etc/hosts", "/etc/gai.conf", "/etc/host.conf", "libnss_dns"}) {
      CHECK(path.find(name_service) == std::string::npos);
    }
  }
  // The namespace has no way out but the LAN's veth: every destination above is on its /24.
  const std::string links = test::must_ip({"-n", alpha.host.netns, "-o", "link", "show"});
  CHECK(links.find(": lo:") != std::string::npos);
  CHECK(links.find(": " + alpha.host.interface + "@") != std::string::npos);
  CHECK(std::count(links.begin(), links.end(), '\n') == 2);
}
