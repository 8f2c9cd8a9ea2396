// ProfileNode: a real node (as TestNode) on a profile that outlives it, so a test can stop it and
// start it again on the same directory — a restart — each time with its own options.
// Thread-safety: one test thread drives it; the node's loop runs on its own thread while started.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sotto/base/clock.h"
#include "sotto/core/account.h"
#include "sotto/core/node.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_node.h"

namespace sotto::test {

class ProfileNode {
 public:
  // Creates the profile (interactive KDF); the node is not started.
  explicit ProfileNode(const std::string& name);
  ~ProfileNode();
  ProfileNode(const ProfileNode&) = delete;
  ProfileNode& operator=(const ProfileNode&) = delete;

  // Opens the profile and runs a node on it; returns once its loop runs (wait_until_looping), so
  // every later call goes through the loop. Throws when it cannot start.
  void start(core::NodeOptions options = loopback_options());
  // Stops and joins the node and closes the profile (as a clean shutdown does).
  void stop();
  bool running() const { return node_ != nullptr; }

  core::Node& node() { return *node_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& profile_dir() const { return dir_; }
  std::string database_path() const;
  // The profile's raw SQLCipher key (Argon2id of the test passphrase), for tests that read the
  // database file itself.
  Bytes database_key() const;
  uint16_t port() const;  // REQUIRES: running
  // The CURVE key its node serves with, which a raw client must expect. REQUIRES: running
  const Bytes& transport_key() const { return account_->transport_public(); }
  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port()); }

  // Convenience views of the running node.
  bool sees_online(const std::string& fingerprint);
  uint64_t counter(const std::string& name);
  std::vector<core::MessageInfo> history(const std::string& to = "");

 private:
  TempDir tmp_;
  std::string dir_;
  std::string fingerprint_;
  SteadyClock clock_;
  std::unique_ptr<core::Account> account_;
  std::unique_ptr<core::Node> node_;
  std::thread thread_;
};

// Options for a loopback node that reaches each of `peers` ("tcp://HOST:PORT") by unicast beacon.
core::NodeOptions loopback_with_peers(const std::vector<std::string>& peers);

}  // namespace sotto::test
