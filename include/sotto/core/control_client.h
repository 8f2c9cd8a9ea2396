// ControlClient: how the CLI talks to a running node through DIR/control.sock.
// Requests and replies are JSON text (see src/core/control_server.h for the messages).
// Thread-safety: one thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "sotto/base/secret.h"
#include "sotto/base/status.h"

namespace sotto::core {

class ControlClient {
 public:
  // Unavailable ("no node running ...") when nothing listens on the profile's control socket.
  static Result<std::unique_ptr<ControlClient>> connect(const std::string& profile_dir);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  // Sends one request and waits up to `timeout_ms` for its reply.
  Result<std::string> request(const std::string& json, int timeout_ms = 5000);
  // A request that carries a secret (core::unlock_request): sent without a copy that stays in
  // memory unwiped (net::ZmqSocket::send_secret).
  Result<std::string> request(const SecretBytes& json, int timeout_ms);
  // The same in two halves, for a request that takes long (an export): send it, then wait for
  // its reply a while at a time (nullopt: not yet), doing something else in between.
  Status send(const std::string& json);
  Result<std::optional<std::string>> reply(int timeout_ms);
  // The next pushed event after a "subscribe"; nullopt when none came within `timeout_ms`.
  Result<std::optional<std::string>> next_event(int timeout_ms);

  struct Impl;

 private:
  explicit ControlClient(std::unique_ptr<Impl> impl);
  Result<std::string> reply_within(int timeout_ms);
  std::unique_ptr<Impl> impl_;
};

// True when a node answers on the profile's control socket (a stale socket file does not count).
bool node_running(const std::string& profile_dir);

}  // namespace sotto::core
