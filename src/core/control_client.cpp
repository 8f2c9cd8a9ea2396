#include "sotto/core/control_client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include <cstring>
#include <deque>
#include <nlohmann/json.hpp>

#include "sotto/net/zmq_socket.h"

namespace sotto::core {
namespace {

std::string socket_path(const std::string& profile_dir) {
  return profile_dir + "/control.sock";
}

Status no_node(const std::string& profile_dir) {
  return Status::unavailable("no node running for profile " + profile_dir +
                             " (start one with: sotto daemon, or sotto)");
}

// A plain connect() tells a live listener from a socket file left behind by a crash, at once,
// where a ZeroMQ connect would wait quietly.
bool listener_present(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un::sun_path)) return false;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

struct ControlClient::Impl {
  net::ZmqContext context;
  net::ZmqSocket socket;
  std::deque<std::string> early_events;  // events that arrived while waiting for a reply

  // Waits for one message: a reply (has "ok") or an event.
  Result<std::optional<std::string>> receive(int timeout_ms) {
    zmq_pollitem_t item{socket.get(), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) return std::optional<std::string>();
    SOTTO_ASSIGN_OR_RETURN(auto part, socket.receive());
    if (!part) return std::optional<std::string>();
    return std::optional<std::string>(std::string(part->data.begin(), part->data.end()));
  }
};

ControlClient::ControlClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlClient::~ControlClient() = default;

bool node_running(const std::string& profile_dir) {
  return listener_present(socket_path(profile_dir));
}

Result<std::unique_ptr<ControlClient>> ControlClient::connect(const std::string& profile_dir) {
  if (!node_running(profile_dir)) return no_node(profile_dir);
  auto impl = std::make_unique<Impl>();
  SOTTO_ASSIGN_OR_RETURN(impl->socket, net::ZmqSocket::create(impl->context, ZMQ_DEALER));
  SOTTO_RETURN_IF_ERROR(impl->socket.connect("ipc://" + socket_path(profile_dir)));
  return std::unique_ptr<ControlClient>(new ControlClient(std::move(impl)));
}

Result<std::string> ControlClient::request(const std::string& json, int timeout_ms) {
  SOTTO_RETURN_IF_ERROR(send(json));
  return reply_within(timeout_ms);
}

Result<std::string> ControlClient::request(const SecretBytes& json, int timeout_ms) {
  SOTTO_RETURN_IF_ERROR(impl_->socket.send_secret(json.view()));
  return reply_within(timeout_ms);
}

Result<std::string> ControlClient::reply_within(int timeout_ms) {
  SOTTO_ASSIGN_OR_RETURN(auto message, reply(timeout_ms));
  if (!message) return Status::unavailable("the node did not answer");
  return std::move(*message);
}

Status ControlClient::send(const std::string& json) {
  return impl_->socket.send({as_bytes(json)});
}

Result<std::optional<std::string>> ControlClient::reply(int timeout_ms) {
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(auto message, impl_->receive(timeout_ms));
    if (!message) return std::optional<std::string>();
    // Replies carry a top-level "ok"; anything else is a pushed event.
    const auto parsed = nlohmann::json::parse(*message, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object() && parsed.contains("ok")) return message;
    impl_->early_events.push_back(std::move(*message));
  }
}

Result<std::optional<std::string>> ControlClient::next_event(int timeout_ms) {
  if (!impl_->early_events.empty()) {
    std::string event = std::move(impl_->early_events.front());
    impl_->early_events.pop_front();
    return std::optional<std::string>(std::move(event));
  }
  return impl_->receive(timeout_ms);
}

}  // namespace sotto::core
