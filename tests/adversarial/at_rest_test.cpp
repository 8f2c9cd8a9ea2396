// Issue 9, scenario 7 (doc/security.md, the promises, doc/guide.md, What is on disk): at rest and
// in memory. A canary text goes both ways between two daemons; afterwards no file of either profile
// (database, WAL, logs, sockets' neighbours), nothing a daemon printed and no file anyone wrote
// under /tmp meanwhile holds it. While they run, core dumps are off and the identity key sits in
// memory that is locked into RAM and excluded from dumps, as /proc shows of the mapping it is found
// in. (After `sotto lock` no key or passphrase byte is in the node's memory at all:
// tests/integration/lock_test.cpp searches /proc/PID/mem for them.)
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "tests/support/daemon.h"
#include "tests/support/flood.h"
#include "tests/support/memory_scan.h"
#include "tests/support/sanitizers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace sotto::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The soft limit on core files, from /proc/PID/limits ("Max core file size  0  0  bytes").
std::string core_limit(int pid) {
  std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(limits, line)) {
    if (line.rfind("Max core file size", 0) == 0) {
      std::istringstream fields(line.substr(std::string("Max core file size").size()));
      std::string soft;
      fields >> soft;
      return soft;
    }
  }
  return "";
}

}  // namespace

TEST_CASE(
    "no canary text in any profile file, daemon output or temporary file; core dumps off and "
    "the identity key in locked, undumpable memory",
    "[adversarial][at-rest][integration]") {
  const int64_t since = static_cast<int64_t>(std::time(nullptr)) - 1;
  std::mt19937_64 rng(Catch::rngSeed());
  // Made up here, so that nothing but this test's traffic can put it anywhere.
  const std::string canary = "canary-" + std::to_string(rng()) + "-at-rest";
  const std::string reply = "reply-" + std::to_string(rng()) + "-at-rest";

  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  // Read offline, before the daemons take the profiles.
  const ProfileSecrets alice_secrets = profile_secrets(alice.dir(), alice.passphrase());
  const ProfileSecrets bob_secrets = profile_secrets(bob.dir(), bob.passphrase());
  connect_pair(alice, bob);
  REQUIRE(alice.sotto({"send", "bob", canary}).exit_code == 0);
  REQUIRE(wait_until([&] { return bob.contact("alice").has_value(); }, 10s));
  REQUIRE(bob.sotto({"send", "alice", reply}).exit_code == 0);
  auto has = [](const DaemonProfile& p, const std::string& to, const std::string& body) {
    for (const auto& m : p.history(to)) {
      if (m.value("body", "") == body && m.value("state", "") == "delivered") return true;
      if (m.value("body", "") == body && !m.value("outgoing", false)) return true;
    }
    return false;
  };
  REQUIRE(wait_until(every(200ms, [&] { return has(bob, "alice", canary); }), 10s));
  REQUIRE(wait_until(every(200ms, [&] { return has(alice, "bob", reply); }), 10s));

  // The identity key itself (not just some mapping) sits in locked, undumpable memory: sotto's
  // own copy, in SecretBytes. libsignal keeps copies of its own in ordinary memory, and the
  // database key is held by SQLCipher alone (sotto wipes its copy once the database is keyed),
  // partly in pages SQLCipher unlocks again when it frees a neighbour; lock_test shows none of
  // them survives `sotto lock`.
  for (const auto& [p, secrets] : {std::pair{&alice, &alice_secrets}, {&bob, &bob_secrets}}) {
    INFO(p->dir());
    CHECK(core_limit(p->pid()) == "0");
    const MemoryScan scan = scan_memory(p->pid(), secrets->needles());
    REQUIRE(scan.error.empty());
    INFO(scan.hits[ProfileSecrets::kPrivateKey] << " copies of the identity key, "
                                                << scan.locked_hits[ProfileSecrets::kPrivateKey]
                                                << " locked");
    CHECK(scan.locked_hits[ProfileSecrets::kPrivateKey] > 0);
  }

  alice.stop();
  bob.stop();
  for (const DaemonProfile* p : {&alice, &bob}) {
    INFO(p->dir());
    CHECK(fs::exists(p->dir() + "/sotto.db"));
    // The archive has them, decrypted by the owner...
    CHECK(has(*p, p == &alice ? "bob" : "alice", p == &alice ? reply : canary));
    // ...and no byte of the profile or of what the daemon printed shows them.
    for (const std::string& text : {canary, reply}) {
      CHECK(files_containing(fs::path(p->dir()).parent_path().string(), text, since).empty());
      CHECK(p->daemon_output().find(text) == std::string::npos);
    }
  }
  const std::string tmp = fs::temp_directory_path().string();
  for (const std::string& text : {canary, reply}) {
    const auto leaked = files_containing(tmp, text, since);
    if (!leaked.empty()) FAIL_CHECK("a temporary file holds a message: " << leaked.front());
  }
}
