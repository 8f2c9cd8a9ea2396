// The daemon and the commands that talk to it, through the real binary (man sotto).
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <zmq.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "sotto/core/control_client.h"
#include "sotto/crypto/primitives.h"
#include "sotto/net/udp_socket.h"
#include "tests/support/free_port.h"
#include "tests/support/process.h"
#include "tests/support/sanitizers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::run_sotto;

namespace {

struct CliNode {
  test::TempDir tmp;
  std::string dir = tmp / "p";
  std::string pass = tmp / "pass";
  std::unique_ptr<test::BackgroundProcess> daemon;
  std::string endpoint;
  std::string fingerprint;

  explicit CliNode(const std::string& name) {
    test::write_file(pass, "pw\n");
    auto init = run_sotto({"--profile", dir, "--passphrase-file", pass, "init", "--name", name,
                           "--kdf", "interactive"});
    REQUIRE(init.exit_code == 0);
  }
  ~CliNode() {
    if (daemon) daemon->stop(SIGTERM);
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--profile",     dir,      "--passphrase-file", pass,
        "--json",        "daemon", "--listen",          "tcp://127.0.0.1:0",
        "--no-discovery"};
    args.insert(args.end(), extra.begin(), extra.end());
    daemon = std::make_unique<test::BackgroundProcess>(test::sotto_binary(), args);
    auto line = daemon->wait_for_line("\"started\"", 10000);
    INFO(daemon->output());
    REQUIRE(line.has_value());
    endpoint = nlohmann::json::parse(*line)["endpoint"].get<std::string>();
    fingerprint = nlohmann::json::parse(*line)["fingerprint"].get<std::string>();
  }

  test::CommandResult sotto(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--profile", dir});
    return run_sotto(args);
  }

  std::vector<nlohmann::json> peers() const {
    auto result = sotto({"peers", "--json"});
    std::vector<nlohmann::json> out;
    if (result.exit_code != 0) return out;
    size_t start = 0, end;
    while ((end = result.out.find('\n', start)) != std::string::npos) {
      out.push_back(nlohmann::json::parse(result.out.substr(start, end - start)));
      start = end + 1;
    }
    return out;
  }

  // `who`: a name (a peer shows it to its contacts and to the nodes it dialled) or a fingerprint.
  bool sees_online(const std::string& who) const {
    for (const auto& peer : peers()) {
      if ((peer["name"] == who || peer["fingerprint"] == who) && peer["state"] == "online") {
        return true;
      }
    }
    return false;
  }
};

}  // namespace

TEST_CASE("peers, events and stats without a running node say so and exit 1", "[cli][node]") {
  CliNode alice("alice");
  for (const char* command : {"peers", "events", "stats"}) {
    auto result = alice.sotto({command});
    INFO(command);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("no node running") != std::string::npos);
  }
}

TEST_CASE("two daemons find each other through --peer and the CLI shows it", "[cli][node]") {
  CliNode alice("alice");
  CliNode bob("bob");
  alice.start();
  test::BackgroundProcess events(test::sotto_binary(),
                                 {"--profile", alice.dir, "--json", "events"});
  bob.start({"--peer", alice.endpoint});
  // Bob dialled Alice, so she sees his name; he sees her by fingerprint (no contacts yet).
  REQUIRE(test::wait_until(
      [&] { return alice.sees_online("bob") && bob.sees_online(alice.fingerprint); }, 5s));
  // The event stream reported bob online, one JSON object per line; his beacons may show him
  // online before his Hello names him, so the event that names him may come second.
  std::optional<nlohmann::json> event;
  while (auto line = events.wait_for_line("\"online\"", 5000)) {
    event = nlohmann::json::parse(*line);
    if ((*event)["peer"]["name"] == "bob") break;
  }
  REQUIRE(event.has_value());
  CHECK((*event)["event"] == "peer");
  CHECK((*event)["peer"]["name"] == "bob");

  // id works beside the running daemon (no passphrase: it asks the node) and shows the endpoint.
  auto id = alice.sotto({"id", "--json"});
  REQUIRE(id.exit_code == 0);
  CHECK(nlohmann::json::parse(id.out)["endpoint"] == alice.endpoint);

  auto human = alice.sotto({"peers"});
  CHECK(human.exit_code == 0);
  CHECK(human.out.find("online") != std::string::npos);
  CHECK(human.out.find("bob") != std::string::npos);

  auto stats = alice.sotto({"stats", "--json"});
  REQUIRE(stats.exit_code == 0);
  CHECK(nlohmann::json::parse(stats.out)["zap_admitted"].get<int>() >= 1);

  // SIGTERM stops a daemon cleanly; the other sees it go.
  CHECK(bob.daemon->stop(SIGTERM) == 0);
  bob.daemon.reset();
  REQUIRE(test::wait_until([&] { return !alice.sees_online("bob"); }, 6s));
  CHECK(events.stop(SIGINT) == 0);
}

TEST_CASE("a second daemon on the same profile is refused with the holder's PID", "[cli][node]") {
  CliNode alice("alice");
  alice.start();
  auto second = run_sotto({"--profile", alice.dir, "--passphrase-file", alice.pass, "daemon",
                           "--listen", "tcp://127.0.0.1:0", "--no-discovery"});
  CHECK(second.exit_code == 1);
  CHECK(second.err.find("profile in use by PID " + std::to_string(alice.daemon->pid())) !=
        std::string::npos);
}

TEST_CASE("after a crash the stale control socket is not mistaken for a node", "[cli][node]") {
  CliNode alice("alice");
  alice.start();
  REQUIRE(alice.sotto({"peers"}).exit_code == 0);
  alice.daemon->stop(SIGKILL);
  alice.daemon.reset();
  auto peers = alice.sotto({"peers"});
  CHECK(peers.exit_code == 1);
  CHECK(peers.err.find("no node running") != std::string::npos);
  alice.start();  // and a new daemon takes the socket over
  CHECK(alice.sotto({"peers"}).exit_code == 0);
}

TEST_CASE("malformed control requests get an error reply and the node keeps serving",
          "[cli][node][security]") {
  CliNode alice("alice");
  alice.start();
  auto client = core::ControlClient::connect(alice.dir);
  REQUIRE(client.is_ok());
  for (const std::string& request :
       {std::string("not json"), std::string("[1,2,3]"), std::string(R"({"cmd": 7})"),
        std::string(R"({"cmd": "format-disk"})"), std::string("{\"cmd\":\"peers\""),
        std::string(2000, '{')}) {
    auto reply = client.value()->request(request);
    REQUIRE(reply.is_ok());
    auto parsed = nlohmann::json::parse(reply.value());
    CHECK(parsed["ok"] == false);
    CHECK_FALSE(parsed["error"].get<std::string>().empty());
    // A code the CLI can turn back into its exit status, not "internal".
    CHECK(parsed.value("code", std::string()) == "invalid_argument");
  }
  // An oversized request is refused by the socket; the node still answers others.
  {
    void* ctx = zmq_ctx_new();
    void* raw = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof linger);
    REQUIRE(zmq_connect(raw, ("ipc://" + alice.dir + "/control.sock").c_str()) == 0);
    std::string huge(1 << 20, 'x');
    zmq_send(raw, huge.data(), huge.size(), 0);
    zmq_close(raw);
    zmq_ctx_term(ctx);
  }
  auto stats = alice.sotto({"stats", "--json"});
  REQUIRE(stats.exit_code == 0);
  CHECK(nlohmann::json::parse(stats.out)["control_requests_malformed"].get<int>() >= 5);
}

TEST_CASE("a malformed config.toml stops the daemon with the line named", "[cli][node]") {
  CliNode alice("alice");
  test::write_file(alice.dir + "/config.toml", "listen = \"tcp://127.0.0.1:0\"\npeers = [1]\n");
  auto result = run_sotto({"--profile", alice.dir, "--passphrase-file", alice.pass, "daemon"});
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("config.toml line 2") != std::string::npos);
}

TEST_CASE("a daemon takes live voice on --voice-port and says so; a port in use stops it",
          "[cli][node]") {
  CliNode alice("alice");
  const uint16_t chosen = test::free_udp_port();
  alice.daemon = std::make_unique<test::BackgroundProcess>(
      test::sotto_binary(),
      std::vector<std::string>{"--profile", alice.dir, "--passphrase-file", alice.pass, "--json",
                               "daemon", "--listen", "tcp://127.0.0.1:0", "--no-discovery",
                               "--voice-port", std::to_string(chosen)});
  auto line = alice.daemon->wait_for_line("\"started\"", 10000);
  INFO(alice.daemon->output());
  REQUIRE(line.has_value());
  CHECK(nlohmann::json::parse(*line)["voice_port"] == chosen);
  alice.daemon->stop(SIGTERM);
  alice.daemon.reset();

  // In use (held here): one line naming it, and no other port taken instead.
  auto holder = net::UdpSocket::bind("127.0.0.1", 0);
  REQUIRE(holder.is_ok());
  const std::string taken = std::to_string(holder.value().local_port().value());
  auto refused =
      run_sotto({"--profile", alice.dir, "--passphrase-file", alice.pass, "daemon", "--listen",
                 "tcp://127.0.0.1:0", "--no-discovery", "--voice-port", taken});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("udp://127.0.0.1:" + taken) != std::string::npos);
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);
  // Not a port number: refused before anything starts.
  auto bad = run_sotto({"--profile", alice.dir, "--passphrase-file", alice.pass, "daemon",
                        "--listen", "tcp://127.0.0.1:0", "--voice-port", "70000"});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("config.toml gives the daemon its peers", "[cli][node]") {
  CliNode alice("alice");
  CliNode bob("bob");
  alice.start();
  test::write_file(
      bob.dir + "/config.toml",
      "discovery = false\nlisten = \"tcp://127.0.0.1:0\"\npeers = [\"" + alice.endpoint + "\"]\n");
  bob.daemon = std::make_unique<test::BackgroundProcess>(
      test::sotto_binary(),
      std::vector<std::string>{"--profile", bob.dir, "--passphrase-file", bob.pass, "daemon"});
  REQUIRE(bob.daemon->wait_for_line("listening on", 10000).has_value());
  REQUIRE(test::wait_until(
      [&] { return alice.sees_online("bob") && bob.sees_online(alice.fingerprint); }, 5s));
}

TEST_CASE("the control socket is for the profile's owner only", "[cli][node][security]") {
  CliNode alice("alice");
  alice.start();
  struct stat st {};
  REQUIRE(::stat((alice.dir + "/control.sock").c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 077) == 0);
}

TEST_CASE(
    "a network key file that is short, a short text repeated or a few characters is refused "
    "with exit 2 and how to make one; 32 random bytes are taken",
    "[cli][node][security]") {
  CliNode alice("alice");
  const std::string key = alice.tmp / "net.key";
  // Under `timeout`: a daemon that took the key would run on.
  auto daemon_with_key = [&](const std::vector<std::string>& how) {
    std::vector<std::string> args = {std::to_string(20 * test::kSlowdown),
                                     test::sotto_binary(),
                                     "--profile",
                                     alice.dir,
                                     "--passphrase-file",
                                     alice.pass,
                                     "daemon",
                                     "--listen",
                                     "tcp://127.0.0.1:0",
                                     "--no-discovery"};
    args.insert(args.end(), how.begin(), how.end());
    return test::run_command("/usr/bin/timeout", args);
  };
  for (const std::string& weak : {
           std::string("office LAN secret\n"),  // 18 bytes
           std::string(64, 'x'),
           std::string("hunter2 hunter2 hunter2 hunter2 hunter2 hunter2 hunter2 hunter2 \n"),
           std::string("abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabca"),
           std::string("0110100101101001011010010110100101101001011110010110100101101001"),
       }) {
    INFO(weak);
    test::write_file(key, weak);
    for (const auto& how :
         {std::vector<std::string>{"--network-key-file", key}, std::vector<std::string>{}}) {
      // The second time from config.toml.
      test::write_file(alice.dir + "/config.toml",
                       how.empty() ? "network_key_file = \"" + key + "\"\n" : "");
      const test::CommandResult refused = daemon_with_key(how);
      INFO(refused.err);
      CHECK(refused.exit_code == 2);
      CHECK(test::one_line_error(refused));
      CHECK(refused.err.find(key) != std::string::npos);
      CHECK(refused.err.find("head -c 32 /dev/urandom") != std::string::npos);
    }
  }
  test::write_file(alice.dir + "/config.toml", "");
  test::write_file(key, crypto::random_bytes(32));
  alice.start({"--network-key-file", key});
  // Its hex text (openssl rand -hex 32) as well.
  const std::string hex = alice.tmp / "hex.key";
  test::write_file(hex, to_hex(crypto::random_bytes(32)) + "\n");
  CliNode bob("bob");
  bob.start({"--network-key-file", hex});
}
