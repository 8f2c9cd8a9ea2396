#include <catch2/catch.hpp>

#include "sotto/core/config.h"
#include "sotto/core/node.h"
#include "tests/support/temp_dir.h"

using namespace sotto;

TEST_CASE("config.toml settings are read, and a missing file is an empty config",
          "[core][config]") {
  test::TempDir tmp;
  auto empty = core::load_config(tmp / "config.toml");
  REQUIRE(empty.is_ok());
  CHECK_FALSE(empty.value().listen.has_value());
  CHECK(empty.value().peers.empty());

  test::write_file(tmp / "config.toml",
                   "listen = \"tcp://127.0.0.1:7000\"\n"
                   "interface = \"eth0\"\n"
                   "peers = [\"tcp://10.0.0.2:7000\", \"tcp://10.0.0.3:7001\"]\n"
                   "discovery = false\n"
                   "beacon_port = 40000\n"
                   "voice_port = 40001\n"
                   "accept_unknown = false\n");
  auto config = core::load_config(tmp / "config.toml");
  REQUIRE(config.is_ok());
  CHECK(config.value().listen == "tcp://127.0.0.1:7000");
  CHECK(config.value().interface == "eth0");
  CHECK(config.value().peers.size() == 2);
  CHECK(config.value().discovery == false);
  CHECK(config.value().beacon_port == 40000);
  CHECK(config.value().voice_port == 40001);
  CHECK(config.value().accept_unknown == false);
}

TEST_CASE("a malformed or mistyped config.toml is refused with its line", "[core][config]") {
  test::TempDir tmp;
  const std::string path = tmp / "config.toml";
  auto refused = [&](const std::string& text, const std::string& expected) {
    test::write_file(path, text);
    auto config = core::load_config(path);
    REQUIRE_FALSE(config.is_ok());
    CHECK(config.status().code() == StatusCode::kInvalidArgument);
    INFO(config.status().message());
    CHECK(config.status().message().find(expected) != std::string::npos);
  };
  refused("listen = \"tcp://x:1\"\npeers = [\n", "line 2");
  refused("\n\nlisten = 7\n", "line 3");
  refused("lisen = \"tcp://127.0.0.1:1\"\n", "unknown setting 'lisen'");
  refused("beacon_port = 70000\n", "beacon_port");
  refused("voice_port = 0\n", "voice_port must be a port number");
  refused("voice_port = \"5000\"\n", "voice_port");
  refused("peers = [1, 2]\n", "peers");
  refused("discovery = \"yes\"\n", "discovery");
  refused("accept_unknown = 1\n", "accept_unknown");
}

TEST_CASE("peer specs are IPv4 endpoints with an optional pinned Z85 key", "[core][config]") {
  auto plain = core::PeerSpec::parse("tcp://10.1.2.3:7000");
  REQUIRE(plain.is_ok());
  CHECK(plain.value().host == "10.1.2.3");
  CHECK(plain.value().port == 7000);
  CHECK_FALSE(plain.value().pinned_key.has_value());

  const std::string key(40, 'a');
  auto pinned = core::PeerSpec::parse("tcp://10.1.2.3:7000#" + key);
  REQUIRE(pinned.is_ok());
  CHECK(pinned.value().pinned_key->size() == 32);

  for (const char* bad :
       {"10.1.2.3:7000", "tcp://host.example:7000", "tcp://10.1.2.3:0", "tcp://10.1.2.3:99999",
        "tcp://10.1.2.3:7000#short", "tcp://10.1.2.3", "udp://10.1.2.3:7000"}) {
    INFO(bad);
    auto spec = core::PeerSpec::parse(bad);
    CHECK_FALSE(spec.is_ok());
  }
}
