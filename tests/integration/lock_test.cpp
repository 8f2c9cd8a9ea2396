// `sotto lock` (issue 8, doc/guide.md, What is on disk): the running node closes the archive and
// keeps no key material in its memory until `sotto unlock`. Checked the hard way: the daemon's
// whole memory
// (/proc/PID/mem) is searched for the database key, the passphrase and the identity private key,
// first while unlocked (they must be found: the search works) and then while locked.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/support/daemon.h"
#include "tests/support/flood.h"
#include "tests/support/memory_scan.h"
#include "tests/support/process.h"
#include "tests/support/sanitizers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace sotto::test;
using namespace std::chrono_literals;

namespace {

// Long and odd enough that finding it in memory is no accident.
constexpr const char* kPassphrase = "lock test: seven ravens over Tromso 4c1d";

// Gives the profile kPassphrase and reads what it unlocks, offline, before any node runs.
ProfileSecrets secrets_of(DaemonProfile& profile) {
  const std::string next = profile.dir() + "/../next-pass";
  write_file(next, std::string(kPassphrase) + "\n");
  auto changed = profile.sotto_unlocked({"passwd", "--new-passphrase-file", next});
  REQUIRE(changed.exit_code == 0);
  write_file(profile.passphrase_file(), std::string(kPassphrase) + "\n");
  return profile_secrets(profile.dir(), kPassphrase);
}

}  // namespace

TEST_CASE(
    "after sotto lock neither the database key nor the passphrase nor the identity key is in "
    "the node's memory; the archive is closed until sotto unlock, and nothing sent meanwhile "
    "is lost",
    "[lock][archive][integration]") {
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  const ProfileSecrets secrets = secrets_of(alice);
  connect_pair(alice, bob);
  // Bob learns Alice as a contact from her first text.
  REQUIRE(alice.sotto({"send", "bob", "before the lock"}).exit_code == 0);
  REQUIRE(wait_until([&] { return bob.contact("alice").has_value(); }, 10s));

  const int pid = alice.pid();
  const MemoryScan unlocked = scan_memory(pid, secrets.needles());
  REQUIRE(unlocked.error.empty());
  INFO("unlocked: " << unlocked.bytes_read << " bytes searched");
  // The search works: a running node holds its database key and its identity key.
  CHECK(unlocked.hits[0] + unlocked.hits[3] + unlocked.hits[4] > 0);
  CHECK(unlocked.hits[1] > 0);

  auto locked = alice.sotto({"lock"});
  INFO(locked.err);
  REQUIRE(locked.exit_code == 0);
  CHECK(locked.out.find("locked") != std::string::npos);
  REQUIRE(alice.running());
  CHECK(alice.pid() == pid);

  const MemoryScan after = scan_memory(pid, secrets.needles());
  REQUIRE(after.error.empty());
  INFO("locked: " << after.bytes_read << " bytes searched");
  CHECK(after.bytes_read > 1'000'000);
  CHECK(after.hits[0] == 0);  // the raw database key
  CHECK(after.hits[1] == 0);  // the identity private key
  CHECK(after.hits[2] == 0);  // the passphrase
  CHECK(after.hits[3] == 0);  // the key as SQLCipher's hex key text
  CHECK(after.hits[4] == 0);

  // Locked: the archive answers nobody, and the profile stays taken.
  auto history = alice.sotto({"history"});
  CHECK(history.exit_code == 1);
  CHECK(history.err.find("locked") != std::string::npos);
  auto wipe = alice.sotto({"wipe", "--yes"});
  CHECK(wipe.exit_code == 1);
  CHECK(wipe.err.find("in use") != std::string::npos);
  auto again = alice.sotto({"lock"});
  CHECK(again.exit_code == 0);

  // Bob writes meanwhile: it waits in his outbox.
  REQUIRE(bob.sotto({"send", "alice", "while you were locked"}).exit_code == 0);

  const std::string wrong = alice.dir() + "/../wrong-pass";
  write_file(wrong, "not the passphrase\n");
  auto refused = alice.sotto({"--passphrase-file", wrong, "unlock"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("wrong passphrase") != std::string::npos);
  CHECK(alice.sotto({"history"}).exit_code == 1);

  auto unlocked_again = alice.sotto_unlocked({"unlock"});
  INFO(unlocked_again.err);
  REQUIRE(unlocked_again.exit_code == 0);
  CHECK(alice.pid() == pid);
  auto arrived = [&] {
    for (const auto& m : alice.history("bob")) {
      if (m.value("body", "") == "while you were locked") return true;
    }
    return false;
  };
  CHECK(wait_until(every(250ms, arrived), 20s));
  REQUIRE(alice.sotto({"send", "bob", "after the unlock"}).exit_code == 0);
  auto delivered = [&] {
    for (const auto& m : alice.history("bob")) {
      if (m.value("body", "") == "after the unlock") return m.value("state", "") == "delivered";
    }
    return false;
  };
  CHECK(wait_until(every(250ms, delivered), 20s));
  CHECK(alice.sotto({"unlock"}).exit_code == 2);  // not locked any more
}

TEST_CASE("lock and unlock without a running node say so and exit 1", "[lock][cli][integration]") {
  DaemonProfile alice("alice");
  for (const char* command : {"lock", "unlock"}) {
    auto result = alice.sotto_unlocked({command});
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("no node running") != std::string::npos);
  }
}

TEST_CASE(
    "a node unlocked through its control socket keeps no copy of the passphrase, raw or as the "
    "request's hex, anywhere in its memory",
    "[lock][security][integration]") {
  DaemonProfile alice("alice");
  const ProfileSecrets secrets = secrets_of(alice);
  const std::string hex = to_hex(secrets.passphrase);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // The process starts locked, so the passphrase reaches it only by the unlock request.
  BackgroundProcess node(sotto_binary(), {"--profile", alice.dir(), "--json", "--locked", "daemon",
                                          "--listen", "tcp://127.0.0.1:0", "--no-discovery"});
  REQUIRE(node.wait_for_line("\"locked\"", 15000 * kSlowdown));
  auto unlocked = alice.sotto_unlocked({"unlock"});
  INFO(unlocked.err);
  REQUIRE(unlocked.exit_code == 0);
  REQUIRE(node.wait_for_line("\"started\"", 15000 * kSlowdown));

  // Halves as well: a buffer that grew while the text was copied into it leaves a partial copy
  // behind in the memory it gave up.
  std::vector<Bytes> needles = {secrets.database_key};
  for (const std::string& text : {std::string(kPassphrase), hex, upper,
                                  hex.substr(0, hex.size() / 2), hex.substr(hex.size() / 2),
                                  upper.substr(0, hex.size() / 2), upper.substr(hex.size() / 2)}) {
    needles.emplace_back(text.begin(), text.end());
  }
  const MemoryScan scan = scan_memory(node.pid(), needles);
  REQUIRE(scan.error.empty());
  INFO(scan.bytes_read << " bytes searched");
  CHECK(scan.hits[0] > 0);  // the search works: an open profile holds its database key
  for (size_t i = 1; i < needles.size(); ++i) {
    INFO("needle " << i);
    CHECK(scan.hits[i] == 0);
  }
}
