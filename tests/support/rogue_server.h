// RogueServer: a host that makes up an identity and announces its own CURVE key with a validly
// signed unicast beacon, so a node opens a DEALER to it, and then, as the server of that
// connection, pushes whatever it likes down it: what no honest sotto node ever does (messages
// flow DEALER -> ROUTER only, doc/protocol.md). A ROUTER with CURVE on and no ZAP handler: it takes
// any client, as an attacker's server would.
//
// Thread-safety: one test thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/core/account.h"
#include "sotto/net/udp_socket.h"
#include "tests/support/temp_dir.h"

namespace sotto::test {

class RogueServer {
 public:
  explicit RogueServer(const std::string& name);
  ~RogueServer();
  RogueServer(const RogueServer&) = delete;
  RogueServer& operator=(const RogueServer&) = delete;

  const std::string& fingerprint() const { return account_->fingerprint(); }
  // Sends its signed beacon to the node's unicast beacon socket (127.0.0.1:node_port), from the
  // UDP port that matches its TCP port, as an honest node does.
  void announce_to(uint16_t node_port);
  // Its TCP port, which is also its beacon socket's.
  uint16_t port() const { return port_; }
  // Waits until a node's DEALER has connected and sent something (its Hello), which tells the
  // ROUTER where to push. False at the deadline.
  bool wait_for_client(std::chrono::milliseconds deadline);
  // Pushes `count` messages of `size` bytes to that client without blocking; how many ZeroMQ
  // took.
  size_t push(size_t size, size_t count);

 private:
  TempDir tmp_;
  std::unique_ptr<core::Account> account_;
  net::UdpSocket udp_;
  uint16_t port_ = 0;
  void* context_ = nullptr;
  void* router_ = nullptr;
  Bytes client_;  // the routing id of the connected DEALER
};

}  // namespace sotto::test
