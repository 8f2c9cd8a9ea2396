// Broadcast discovery between real hosts: sotto daemons in network namespaces on one bridge
// (tests/support/netns.h), driven through the real build/sotto binary and its CLI. broadcast
// discovery skips loopback (doc/architecture.md, What the libraries taught us), so this is the only
// place the broadcast path runs end to end. Needs root; without it (or when `ip netns add` is
// refused) each test warns and returns.
#include <sys/socket.h>
#include <zmq.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>

#include "sotto/crypto/primitives.h"
#include "sotto/net/beacon.h"
#include "sotto/net/udp_socket.h"
#include "src/core/account_internals.h"
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

constexpr uint16_t kBeaconPort = 47474;  // NodeOptions' default; the daemons use it
const std::string kPassphrase = "netns test passphrase";

using Millis = std::chrono::milliseconds;

long long ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start).count();
}

// "tcp://10.213.1.10:40123" -> 40123.
uint16_t port_of(const std::string& endpoint) {
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

// A sotto profile on one host of the lab and, once started, its daemon there.
class LanNode {
 public:
  LanNode(std::string name, test::NetnsLab::Host host, const std::string& dir,
          const std::string& pass_file)
      : name_(std::move(name)), host_(std::move(host)), dir_(dir), pass_file_(pass_file) {
    auto account = test::create_account(dir_, name_, kPassphrase);
    fingerprint_ = account->fingerprint();
    identity_key_ = account->identity_key();
    transport_key_ = account->transport_public();
  }  // the account closes here: the daemon opens the profile itself

  const std::string& name() const { return name_; }
  const test::NetnsLab::Host& host() const { return host_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const Bytes& identity_key() const { return identity_key_; }
  const Bytes& transport_key() const { return transport_key_; }
  // The ROUTER endpoint the running daemon printed: "tcp://ADDRESS:PORT".
  const std::string& endpoint() const { return endpoint_; }

  // Starts `ip netns exec HOST sotto ... daemon --interface IF EXTRA...` without waiting
  // (without --interface when `name_interface` is false: discovery picks one).
  void spawn(const std::vector<std::string>& extra = {}, bool name_interface = true) {
    std::vector<std::string> command = {test::sotto_binary(), "--profile", dir_,
                                        "--passphrase-file",  pass_file_,  "daemon"};
    if (name_interface) command.insert(command.end(), {"--interface", host_.interface});
    command.insert(command.end(), extra.begin(), extra.end());
    endpoint_.clear();
    daemon_ = std::make_unique<test::NetnsChild>(host_.netns, command);
  }
  // Waits for the daemon's "listening on" line (its profile is unlocked, sockets bound).
  void wait_listening() {
    REQUIRE(daemon_);
    auto line = daemon_->wait_for_line("listening on ", 10s);
    INFO(name_ << " printed: " << daemon_->output());
    REQUIRE(line);
    endpoint_ = line->text.substr(line->text.find("listening on ") + 13);
    REQUIRE(endpoint_.rfind("tcp://" + host_.address + ":", 0) == 0);
  }
  void start(const std::vector<std::string>& extra = {}) {
    spawn(extra);
    wait_listening();
  }
  // SIGTERM and wait: the daemon must exit cleanly (0) within a few seconds.
  void stop() {
    REQUIRE(daemon_);
    const int code = daemon_->stop(5s);
    INFO(name_ << " printed: " << daemon_->output());
    CHECK(code == 0);
    daemon_.reset();
  }

  test::CommandResult sotto(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--profile", dir_});
    return test::run_sotto(args);
  }
  // One object per peer, as `sotto peers --json` prints them; empty when the node is not up.
  std::vector<json> peers() const {
    auto result = sotto({"peers", "--json"});
    std::vector<json> out;
    if (result.exit_code != 0) return out;
    size_t start = 0, end;
    while ((end = result.out.find('\n', start)) != std::string::npos) {
      out.push_back(json::parse(result.out.substr(start, end - start)));
      start = end + 1;
    }
    return out;
  }
  std::optional<json> peer(const std::string& fingerprint) const {
    for (auto& p : peers()) {
      if (p["fingerprint"] == fingerprint) return p;
    }
    return std::nullopt;
  }
  json stats() const {
    auto result = sotto({"stats", "--json"});
    if (result.exit_code != 0) return json::object();
    return json::parse(result.out);
  }
  uint64_t counter(const std::string& name) const { return stats().value(name, uint64_t{0}); }
  json id() const {
    auto result = sotto({"id", "--json"});
    REQUIRE(result.exit_code == 0);
    return json::parse(result.out);
  }
  // `other` is listed online at the endpoint its own daemon printed (not some other address).
  bool sees_online(const LanNode& other) const {
    auto p = peer(other.fingerprint());
    return p && (*p)["state"] == "online" && (*p)["endpoint"] == other.endpoint();
  }
  std::string describe() const {
    std::string text = name_ + " (" + host_.address + ") peers:\n";
    for (const auto& p : peers()) text += "  " + p.dump() + "\n";
    text += "  stats " + stats().dump() + "\n";
    return text;
  }

 private:
  std::string name_;
  test::NetnsLab::Host host_;
  std::string dir_;
  std::string pass_file_;
  std::string fingerprint_;
  Bytes identity_key_;
  Bytes transport_key_;
  std::unique_ptr<test::NetnsChild> daemon_;
  std::string endpoint_;
};

// The test's LAN: a lab, profiles in a TempDir, the nodes. Members are destroyed in reverse:
// daemons are stopped first, then the namespaces go, then the profiles.
class Lan {
 public:
  // nullptr, after a WARN saying why, when network namespaces cannot be made here.
  static std::unique_ptr<Lan> create_or_skip() {
    std::string why_not;
    auto lab = test::NetnsLab::create(why_not);
    if (!lab) {
      test::skip(why_not);
      return nullptr;
    }
    return std::unique_ptr<Lan>(new Lan(std::move(lab)));
  }

  // A new host with a profile named `name`; `sotto daemon` not started yet.
  LanNode& add_node(const std::string& name) {
    const std::string pass_file = tmp_ / (name + ".pass");
    test::write_file(pass_file, kPassphrase + "\n");
    return nodes_.emplace_back(name, lab_->add_host(), tmp_ / name, pass_file);
  }
  // A host with no node on it (an attacker's machine).
  test::NetnsLab::Host add_host() { return lab_->add_host(); }
  std::string write_file(const std::string& name, const std::string& content) {
    test::write_file(tmp_ / name, content);
    return tmp_ / name;
  }
  const test::TempDir& tmp() const { return tmp_; }
  std::string broadcast_address() const { return lab_->broadcast_address(); }

  std::string describe() const {
    std::string text;
    for (const auto& node : nodes_) text += node.describe();
    return text;
  }

 private:
  explicit Lan(std::unique_ptr<test::NetnsLab> lab) : lab_(std::move(lab)) {}

  test::TempDir tmp_;
  std::unique_ptr<test::NetnsLab> lab_;
  std::deque<LanNode> nodes_;
};

// A UDP socket made inside the attacker's namespace and used from the test thread.
class AttackerUdp {
 public:
  AttackerUdp(const std::string& netns, uint16_t port) {
    test::run_in_netns(netns, [&] {
      auto bound = net::UdpSocket::bind("0.0.0.0", port);
      if (!bound.is_ok()) throw std::runtime_error(bound.status().message());
      socket_ = std::move(bound).value();
    });
    int on = 1;
    REQUIRE(setsockopt(socket_.fd(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on) == 0);
  }

  void send(const std::string& address, uint16_t port, ByteView data) {
    auto sent = socket_.send_to(address, port, data);
    INFO(sent.message());
    REQUIRE(sent.is_ok());
  }
  // The next datagram `wanted` accepts within `deadline`; others are read and dropped.
  std::optional<net::Datagram> receive(const std::function<bool(const net::Datagram&)>& wanted,
                                       Millis deadline) {
    std::optional<net::Datagram> found;
    wait_until(
        [&] {
          for (;;) {
            auto received = socket_.receive();
            if (!received.is_ok() || !received.value()) return false;
            if (wanted(*received.value())) {
              found = std::move(*received.value());
              return true;
            }
          }
        },
        deadline);
    return found;
  }

 private:
  net::UdpSocket socket_;
};

// A datagram from `node`'s address carrying `node`'s validly signed beacon (with the reply flag
// as asked, and the TCP port when one is given).
std::function<bool(const net::Datagram&)> beacon_of(const LanNode& node, bool reply,
                                                    std::optional<uint16_t> port = std::nullopt) {
  return [&node, reply, port](const net::Datagram& d) {
    if (d.from_address() != node.host().address) return false;
    auto beacon = net::decode_beacon(d.data);
    return beacon.is_ok() && beacon.value().identity_key == node.identity_key() &&
           beacon.value().reply == reply && (!port || beacon.value().port == *port);
  };
}

// A ZeroMQ ROUTER with a CURVE server key of its own, bound in the attacker's namespace: what a
// node finds when it believes a replayed beacon and connects to the attacker's address.
class AttackerRouter {
 public:
  AttackerRouter(const std::string& netns, const std::string& address, uint16_t port) {
    test::run_in_netns(netns, [&] {
      context_ = zmq_ctx_new();
      socket_ = zmq_socket(context_, ZMQ_ROUTER);
      char public_key[41], secret_key[41];
      int on = 1, linger = 0;
      if (socket_ == nullptr || zmq_curve_keypair(public_key, secret_key) != 0 ||
          zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
          zmq_setsockopt(socket_, ZMQ_CURVE_SERVER, &on, sizeof on) != 0 ||
          zmq_setsockopt(socket_, ZMQ_CURVE_SECRETKEY, secret_key, 40) != 0) {
        throw std::runtime_error("attacker ROUTER: " + std::string(zmq_strerror(zmq_errno())));
      }
      const std::string endpoint = "tcp://" + address + ":" + std::to_string(port);
      if (zmq_bind(socket_, endpoint.c_str()) != 0) {
        throw std::runtime_error("attacker ROUTER bind " + endpoint + ": " +
                                 zmq_strerror(zmq_errno()));
      }
    });
  }
  ~AttackerRouter() {
    if (socket_ != nullptr) zmq_close(socket_);
    if (context_ != nullptr) zmq_ctx_term(context_);
  }
  AttackerRouter(const AttackerRouter&) = delete;
  AttackerRouter& operator=(const AttackerRouter&) = delete;

 private:
  void* context_ = nullptr;
  void* socket_ = nullptr;
};

}  // namespace

TEST_CASE("three nodes on one LAN find each other by broadcast beacons alone",
          "[netns][integration]") {
  auto lan = Lan::create_or_skip();
  if (!lan) return;
  LanNode& a = lan->add_node("alpha");
  LanNode& b = lan->add_node("bravo");
  LanNode& c = lan->add_node("charlie");

  a.spawn();
  b.spawn();
  const auto last_started = std::chrono::steady_clock::now();
  c.spawn();
  for (LanNode* node : {&a, &b, &c}) node->wait_listening();
  const long long unlocked_ms = ms_since(last_started);

  // Every pair, both ways, online at the address the other announced; no --peer anywhere.
  auto all_online = [&] {
    return a.sees_online(b) && a.sees_online(c) && b.sees_online(a) && b.sees_online(c) &&
           c.sees_online(a) && c.sees_online(b);
  };
  const bool online = wait_until(all_online, Millis(2000) - Millis(ms_since(last_started)));
  INFO("the last node started " << ms_since(last_started) << " ms ago (its profile unlocked after "
                                << unlocked_ms << " ms)\n"
                                << lan->describe());
  REQUIRE(online);
  for (LanNode* node : {&a, &b, &c}) {
    const auto peers = node->peers();
    CHECK(peers.size() == 2);
    for (const auto& p : peers) {
      CHECK(p["configured"] == false);  // found by broadcast, not given by hand
      // Strangers to each other: no display name crosses the LAN before someone adds someone.
      CHECK(p["name"].get<std::string>().empty());
    }
  }
  // Every node heard beacons and dropped none of them.
  for (LanNode* node : {&a, &b, &c}) {
    const json stats = node->stats();
    CHECK(stats.value("beacons_received", 0) >= 2);
    CHECK(stats.value("beacon_dropped_signature", 0) == 0);
    CHECK(stats.value("beacon_dropped_seal", 0) == 0);
  }
}

TEST_CASE(
    "with discovery on and neither --listen nor --interface, a node listens on the address "
    "discovery broadcasts from, not on every interface",
    "[netns][integration][security]") {
  auto lan = Lan::create_or_skip();
  if (!lan) return;
  LanNode& a = lan->add_node("alpha");
  LanNode& b = lan->add_node("bravo");
  a.spawn({}, false);
  a.wait_listening();  // its endpoint is tcp://ITS_VETH_ADDRESS:PORT, not 0.0.0.0
  CHECK(a.id()["endpoint"] == a.endpoint());
  b.start();
  CHECK(wait_until([&] { return a.sees_online(b) && b.sees_online(a); }, Millis(3000)));
}

TEST_CASE("a node with another network key sees no one and no one sees it",
          "[netns][integration]") {
  auto lan = Lan::create_or_skip();
  if (!lan) return;
  // Random, as the CLI refuses a weak key file (net::check_network_key); hex, as from openssl.
  const std::string shared_key =
      lan->write_file("lan.key", to_hex(crypto::random_bytes(32)) + "\n");
  const std::string other_key =
      lan->write_file("other.key", to_hex(crypto::random_bytes(32)) + "\n");
  LanNode& outsider = lan->add_node("outsider");
  LanNode& a = lan->add_node("alpha");
  LanNode& b = lan->add_node("bravo");
  LanNode& c = lan->add_node("charlie");

  // The outsider first, so it is there to hear the others' first beacons.
  outsider.start({"--network-key-file", other_key});
  const auto last_started = std::chrono::steady_clock::now();
  for (LanNode* node : {&a, &b, &c}) node->spawn({"--network-key-file", shared_key});
  for (LanNode* node : {&a, &b, &c}) node->wait_listening();

  // Sealed beacons work between holders of the same key.
  const bool online = wait_until(
      [&] {
        return a.sees_online(b) && a.sees_online(c) && b.sees_online(a) && b.sees_online(c) &&
               c.sees_online(a) && c.sees_online(b);
      },
      Millis(2000) - Millis(ms_since(last_started)));
  INFO(lan->describe());
  REQUIRE(online);

  // Each side has received and refused the other's beacons (at most one beacon interval away),
  // so what the peer tables show next is not just "not yet".
  REQUIRE(wait_until(
      [&] {
        return outsider.counter("beacon_dropped_seal") > 0 &&
               a.counter("beacon_dropped_seal") > 0 && b.counter("beacon_dropped_seal") > 0 &&
               c.counter("beacon_dropped_seal") > 0;
      },
      3s));
  INFO(lan->describe());
  CHECK(outsider.peers().empty());
  CHECK(outsider.counter("beacon_dropped_seal") >= 3);  // one first beacon from each of the three
  for (LanNode* node : {&a, &b, &c}) {
    CHECK_FALSE(node->peer(outsider.fingerprint()));
    CHECK(node->peers().size() == 2);
  }
}

TEST_CASE("a replayed or re-signed beacon from another host does not move or fake a peer",
          "[netns][integration][security]") {
  auto lan = Lan::create_or_skip();
  if (!lan) return;
  LanNode& a = lan->add_node("alpha");
  LanNode& b = lan->add_node("bravo");
  const test::NetnsLab::Host attacker = lan->add_host();  // no node: raw sockets only

  // The attacker records A's broadcast beacon (broadcasts reach every host on the LAN).
  AttackerUdp listener(attacker.netns, kBeaconPort);
  a.start();
  const uint16_t a_port = port_of(a.endpoint());
  auto recorded = listener.receive(beacon_of(a, false, a_port), 3s);
  REQUIRE(recorded);

  SECTION("replayed while A is away, it leads B to the attacker, where CURVE refuses it") {
    a.stop();
    // The attacker serves CURVE at the recorded port, with a key of its own (it lacks A's).
    AttackerRouter trap(attacker.netns, attacker.address, a_port);
    b.start();
    // Unicast from the port the beacon names (so B's source-port check passes), and broadcast.
    AttackerUdp replayer(attacker.netns, a_port);
    replayer.send(b.host().address, port_of(b.endpoint()), recorded->data);
    replayer.send(lan->broadcast_address(), kBeaconPort, recorded->data);
    // The signature is A's, so B takes the beacon as a hint and answers the attacker with a
    // challenge only A could echo...
    REQUIRE(replayer.receive(beacon_of(b, true), 2s));
    // ...and opens no link to "A", a stranger (it would be refused: CURVE, the attacker lacks
    // A's key): the replay gets B to do nothing but answer.
    CHECK_FALSE(wait_until([&] { return b.counter("links_open") > 0; }, 1s));
    INFO(lan->describe());
    CHECK(b.counter("beacon_proofs") == 0);
    auto seen = b.peer(a.fingerprint());
    REQUIRE(seen);
    CHECK((*seen)["state"] != "online");
    CHECK((*seen)["state"] != "evasive");
    CHECK((*seen)["name"] == "");  // no Hello ever came from "A"

    // The real A comes back (on a new port): B finds it at its own address despite the replay.
    a.start();
    const auto restarted = std::chrono::steady_clock::now();
    const bool back = wait_until([&] { return b.sees_online(a) && a.sees_online(b); }, 3s);
    INFO("after " << ms_since(restarted) << " ms\n" << lan->describe());
    CHECK(back);
    // The attacker's address refused every handshake: B backed off instead of relinking at once
    // (that was hundreds of links a second, each a TCP connection and a CURVE handshake).
    CHECK(b.counter("relinks") < 40);
  }

  SECTION("replayed while A is online, it does not move A to the attacker's address") {
    b.start();
    const bool online = wait_until([&] { return b.sees_online(a) && a.sees_online(b); }, 2s);
    INFO(lan->describe());
    REQUIRE(online);
    const auto links_before = b.counter("link_handshakes");
    AttackerRouter trap(attacker.netns, attacker.address, a_port);
    AttackerUdp replayer(attacker.netns, a_port);
    replayer.send(b.host().address, port_of(b.endpoint()), recorded->data);
    replayer.send(lan->broadcast_address(), kBeaconPort, recorded->data);
    // B has handled the replay when it counts it stale: older than A's last live beacon, it
    // proves nothing and gets no answer (A is online).
    REQUIRE(wait_until([&] { return b.counter("beacon_stale") >= 1; }, 2s));
    INFO(lan->describe());
    auto seen = b.peer(a.fingerprint());
    REQUIRE(seen);
    CHECK((*seen)["state"] == "online");
    CHECK((*seen)["endpoint"] == a.endpoint());
    CHECK(b.peers().size() == 1);
    CHECK(b.counter("link_handshakes") == links_before);  // no new link, to the attacker or A
  }

  SECTION("A's identity with the attacker's port is dropped, whoever signed it") {
    b.start();
    const bool online = wait_until([&] { return b.sees_online(a) && a.sees_online(b); }, 2s);
    INFO(lan->describe());
    REQUIRE(online);
    // Keys as the CLI shows them, the way an attacker on the LAN would learn them.
    const json a_id = a.id();
    const Bytes a_identity = from_hex(a_id["identity_key"].get<std::string>()).value();
    const Bytes a_transport = from_z85(a_id["transport_key"].get<std::string>()).value();
    REQUIRE(a_identity == a.identity_key());
    const uint16_t attacker_port = static_cast<uint16_t>(a_port == 40404 ? 40405 : 40404);

    // A's identity and transport key, the attacker's port, signed with the attacker's own key.
    test::TempDir mallory_dir;
    auto mallory = test::create_account(mallory_dir / "p", "mallory");
    net::Beacon forged;
    forged.port = attacker_port;
    forged.transport_key = a_transport;
    forged.identity_key = a_identity;
    forged.signature =
        core::AccountInternals::signal(*mallory).sign(net::beacon_signed_part(forged)).value();
    const Bytes resigned = net::encode_beacon(forged);
    // A's recorded beacon with only the port changed: A's signature no longer covers it.
    Bytes moved = recorded->data;
    moved[6] = static_cast<uint8_t>(attacker_port >> 8);
    moved[7] = static_cast<uint8_t>(attacker_port & 0xff);
    REQUIRE(moved != recorded->data);

    const uint64_t before = b.counter("beacon_dropped_signature");
    AttackerUdp forger(attacker.netns, attacker_port);
    for (const Bytes& datagram : {resigned, moved}) {
      forger.send(b.host().address, port_of(b.endpoint()), datagram);
      forger.send(lan->broadcast_address(), kBeaconPort, datagram);
    }
    const bool dropped =
        wait_until([&] { return b.counter("beacon_dropped_signature") >= before + 4; }, 2s);
    INFO(lan->describe());
    CHECK(dropped);
    CHECK(b.sees_online(a));
    CHECK(b.peer(a.fingerprint()).value()["endpoint"] == a.endpoint());
    CHECK(b.peers().size() == 1);
    // Nothing answered the forgeries.
    CHECK_FALSE(forger.receive([](const net::Datagram&) { return true; }, 0ms));
  }
}

TEST_CASE(
    "on a quiet LAN beacons slow to the longest interval and strangers stay online without "
    "a link; a newcomer brings the interval back to the shortest",
    "[netns][integration][scale]") {
  auto lan = Lan::create_or_skip();
  if (!lan) return;
  const std::vector<std::string> intervals = {"--beacon-interval", "200", "--beacon-interval-max",
                                              "1600"};
  LanNode& a = lan->add_node("alpha");
  LanNode& b = lan->add_node("bravo");
  LanNode& c = lan->add_node("charlie");
  a.start(intervals);
  b.start(intervals);
  auto pair_online = [&] { return a.sees_online(b) && b.sees_online(a); };
  REQUIRE(wait_until(pair_online, 3s));
  // Quiet: 200, 400, 800, 1600 ms, then it stays there; each beacon says so, so the other keeps the
  // sender online across the longer gaps, with no link between them (strangers).
  const bool slowed = wait_until(
      [&] {
        return a.counter("beacon_interval_ms") == 1600 && b.counter("beacon_interval_ms") == 1600;
      },
      6s);
  INFO(lan->describe());
  REQUIRE(slowed);
  const uint64_t received_before = a.counter("beacons_received");
  const auto since = std::chrono::steady_clock::now();
  CHECK_FALSE(wait_until([&] { return !pair_online(); }, 2s));
  const long long quiet_ms = ms_since(since);
  // One broadcast per 1.6 s from the one other node, and no answers between nodes that know
  // each other.
  const uint64_t received = a.counter("beacons_received") - received_before;
  INFO(received << " beacons in " << quiet_ms << " ms");
  CHECK(received <= static_cast<uint64_t>(quiet_ms / 1600 + 2));
  CHECK(a.counter("links_open") == 0);
  CHECK(b.counter("links_open") == 0);

  // A newcomer is a change: the others go back to beaconing fast, and everyone sees everyone.
  c.start(intervals);
  const bool quickened = wait_until(
      [&] {
        return a.counter("beacon_interval_ms") < 1600 && b.counter("beacon_interval_ms") < 1600;
      },
      2s);
  CHECK(quickened);
  CHECK(wait_until(
      [&] { return a.sees_online(c) && b.sees_online(c) && c.sees_online(a) && c.sees_online(b); },
      3s));
  CHECK(a.counter("links_open") == 0);
}

TEST_CASE(
    "add NAME finds a peer known by broadcast alone; a stranger it greeted hears no name, and "
    "no stranger made it greet",
    "[netns][integration][security]") {
  auto lan = Lan::create_or_skip();
  if (!lan) return;
  LanNode& a = lan->add_node("alpha");
  LanNode& b = lan->add_node("bravo");
  LanNode& c = lan->add_node("charlie");
  for (LanNode* node : {&a, &b, &c}) node->spawn();
  for (LanNode* node : {&a, &b, &c}) node->wait_listening();
  auto all_online = [&] {
    return a.sees_online(b) && a.sees_online(c) && b.sees_online(a) && b.sees_online(c) &&
           c.sees_online(a) && c.sees_online(b);
  };
  const bool online = wait_until(all_online, Millis(5000));
  INFO(lan->describe());
  REQUIRE(online);
  // Strangers beaconing to one another: nobody greeted anybody.
  for (LanNode* node : {&a, &b, &c}) {
    CHECK(node->counter("name_lookup_greetings") == 0);
    CHECK(node->counter("links_opened_on_demand") == 0);
  }

  // Bravo never sent alpha a Hello, so no digest to match: alpha's add greets both strangers.
  auto added = a.sotto({"add", "bravo"});
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  CHECK(added.out.find("added bravo (" + b.fingerprint().substr(0, 16) + ")") != std::string::npos);
  CHECK(a.counter("name_lookup_greetings") == 2);
  // Charlie answered alpha's Hello over a link of its own, and learnt no name from it: alpha's
  // Hello carried only the digest keyed to charlie's key.
  CHECK(c.counter("links_opened_on_demand") >= 1);
  auto alpha_at_charlie = c.peer(a.fingerprint());
  REQUIRE(alpha_at_charlie);
  CHECK((*alpha_at_charlie)["name"].get<std::string>().empty());
  // Bravo is a contact now: the text goes through.
  REQUIRE(a.sotto({"send", "bravo", "found by name"}).exit_code == 0);

  // Everyone answered before: a name nobody has fails at once, greeting no one again.
  const auto asked = std::chrono::steady_clock::now();
  auto nobody = a.sotto({"add", "nobody"});
  CHECK(nobody.exit_code != 0);
  CHECK(nobody.err.find("no peer 'nobody' nearby") != std::string::npos);
  CHECK(ms_since(asked) < 3000);
  CHECK(a.counter("name_lookup_greetings") == 2);
}
