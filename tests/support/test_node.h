// TestNode: a real node (own profile, own ZeroMQ context, real sockets on 127.0.0.1) running its
// event loop in a thread (running by the time the constructor returns); stopped and joined on
// destruction.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "sotto/base/clock.h"
#include "sotto/core/account.h"
#include "sotto/core/node.h"
#include "tests/support/temp_dir.h"

namespace sotto::test {

// Loopback, no broadcast discovery, ephemeral port: what most multi-node tests want.
core::NodeOptions loopback_options();

// Returns once `node`'s loop has answered a call; throws after 10 s. The node runs its own loop
// from Node::create on (node.h), so this only confirms that it answers.
void wait_until_looping(core::Node& node);

class TestNode {
 public:
  explicit TestNode(const std::string& name, core::NodeOptions options = loopback_options());
  ~TestNode();
  TestNode(const TestNode&) = delete;
  TestNode& operator=(const TestNode&) = delete;

  core::Account& account() { return *account_; }
  core::Node& node() { return *node_; }
  const std::string& fingerprint() const { return account_->fingerprint(); }
  const std::string& profile_dir() const { return profile_dir_; }
  uint16_t port() const;
  // "tcp://127.0.0.1:PORT#KEY": how another node pins this one.
  std::string pinned_endpoint() const;
  std::string endpoint() const;

  std::optional<core::PeerInfo> peer(const std::string& fingerprint);
  bool sees_online(const TestNode& other);
  uint64_t counter(const std::string& name);
  void stop();

 private:
  TempDir tmp_;
  std::string profile_dir_;
  SteadyClock clock_;
  std::unique_ptr<core::Account> account_;
  std::unique_ptr<core::Node> node_;
  std::thread thread_;
};

}  // namespace sotto::test
