// ControlServer: the node's local control socket, DIR/control.sock (ipc://, mode 0600), where
// the CLI and scripts talk to a running node. One JSON object per message:
//
//   request  {"cmd": "id" | "peers" | "stats" | "subscribe" | "unsubscribe" | "send" |
//             "add" | "verify" | "replace" | "contacts" | "history" | "channel" | "talk" |
//             "expire" | "ptt" | "play" | "search" | "export" | "export_progress" | "lock" |
//             "unlock", ...arguments}
//            (the node's commands and their arguments: src/core/control_request.h; search and
//            export: src/core/archive_service.h)
//   reply    {"ok": true, ...}  or  {"ok": false, "error": "one line a user can act on"}
//   event    {"event": "peer", "at_ms": ..., "peer": {...}}   (to subscribers, as it happens)
//
// Only the profile's owner can reach the socket (file mode and the 0700 profile directory).
// Malformed requests get an error reply and are counted; they never reach the node's state.
// A request may carry a passphrase (unlock): every copy of every request (libzmq's buffer, the
// received parts, the text) is wiped once handled, and the passphrase itself never reaches a
// JSON parser (Handlers::unlock).
// Thread-safety: the node's loop thread.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "sotto/net/poller.h"
#include "sotto/net/zmq_socket.h"

namespace sotto::core {

struct IdentityInfo {
  std::string name;
  std::string fingerprint;
  Bytes identity_key;
  Bytes transport_key;
  std::string endpoint;
};

class ControlServer {
 public:
  static constexpr size_t kMaxRequestBytes = 1024 * 1024;  // a 64 KiB text, JSON-escaped
  static constexpr size_t kMaxSubscribers = 64;

  // Sends the reply to one request; may be called later (after a peer answered), once.
  using Reply = std::function<void(const std::string& json)>;

  // A handler left empty passes its command on to `command` (a locked profile has no identity
  // to show).
  struct Handlers {
    std::function<IdentityInfo()> identity;
    std::function<std::vector<PeerInfo>()> peers;
    std::function<NodeStats()> stats;
    // {"cmd": "unlock", "passphrase_hex": "..."}: the passphrase, or nullopt when the field is
    // missing or not plain hex of even length. The hex is taken out of the request before any
    // JSON parser sees it (nlohmann's lexer keeps unwiped copies of every token it reads);
    // without this handler the request goes to `command` with its hex overwritten by zeros.
    std::function<void(std::optional<SecretBytes> passphrase, Reply reply)> unlock;
    // Every other command, with the request as parsed at the socket (nothing downstream parses
    // it again); false when `cmd` is unknown. Tried before `command`.
    std::function<bool(const std::string& cmd, const nlohmann::json& request, Reply reply)> request;
    // Every other command as the request's text (wiped once handled); false when `cmd` is
    // unknown.
    std::function<bool(const std::string& cmd, const std::string& request, Reply reply)> command;
  };

  // Binds `path` (a stale socket file from a crashed node is replaced: the caller holds the
  // profile lock, so no live node owns it).
  static Result<std::unique_ptr<ControlServer>> start(net::ZmqContext& context, net::Poller& poller,
                                                      const std::string& path, Handlers handlers);
  ~ControlServer();

  void publish(const Event& event);
  // Replies still queued when the server closes go out (for up to `timeout_ms`) instead of being
  // dropped: for the last reply of a process about to replace itself (lock, unlock).
  void deliver_replies_on_close(int timeout_ms);
  uint64_t malformed() const { return malformed_; }

 private:
  ControlServer(net::Poller& poller, std::string path, Handlers handlers)
      : poller_(poller), path_(std::move(path)), handlers_(std::move(handlers)) {}
  void on_readable();
  // Returns the reply now, or nullopt when `reply` will be called later.
  std::optional<std::string> handle(const Bytes& routing_id, const std::string& request,
                                    std::optional<SecretBytes> passphrase, const Reply& reply);
  void send_reply(const Bytes& routing_id, bool from_req, const std::string& json);
  void return_memory_if_large_reply();

  net::Poller& poller_;
  std::string path_;
  Handlers handlers_;
  net::ZmqSocket socket_;
  std::set<Bytes> subscribers_;
  uint64_t malformed_ = 0;
  bool large_reply_sent_ = false;
};

// JSON of the types the control socket speaks (the CLI prints these with --json).
std::string peer_json(const PeerInfo& peer);
std::string event_json(const Event& event);
std::string message_json(const MessageInfo& message);
std::string contact_json(const ContactInfo& contact);
std::string channel_json(const ChannelInfo& channel);
std::string ok_json();
std::string error_json(const std::string& message);

}  // namespace sotto::core
