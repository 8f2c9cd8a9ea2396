#include "tests/support/rogue_server.h"

#include <zmq.h>

#include <stdexcept>
#include <string>

#include "sotto/net/beacon.h"
#include "src/core/account_internals.h"
#include "tests/support/profiles.h"
#include "tests/support/wait.h"

namespace sotto::test {

RogueServer::RogueServer(const std::string& name) : account_(create_account(tmp_ / "p", name)) {
  context_ = zmq_ctx_new();
  // The beacon names one port for TCP and UDP: retry until the TCP port is free for UDP too.
  for (int attempt = 0; attempt < 16 && port_ == 0; ++attempt) {
    router_ = zmq_socket(context_, ZMQ_ROUTER);
    const int on = 1, linger = 0, unlimited = 0;
    zmq_setsockopt(router_, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(router_, ZMQ_SNDHWM, &unlimited, sizeof unlimited);
    zmq_setsockopt(router_, ZMQ_CURVE_SERVER, &on, sizeof on);
    const SecretBytes& secret = account_->transport_secret();
    zmq_setsockopt(router_, ZMQ_CURVE_SECRETKEY, secret.view().data(), secret.size());
    if (zmq_bind(router_, "tcp://127.0.0.1:0") != 0) throw std::runtime_error("rogue bind");
    char endpoint[256];
    size_t size = sizeof endpoint;
    zmq_getsockopt(router_, ZMQ_LAST_ENDPOINT, endpoint, &size);
    const std::string text(endpoint);
    const auto port = static_cast<uint16_t>(std::stoi(text.substr(text.rfind(':') + 1)));
    auto bound = net::UdpSocket::bind("127.0.0.1", port);
    if (bound.is_ok()) {
      udp_ = std::move(bound).value();
      port_ = port;
    } else {
      zmq_close(router_);
      router_ = nullptr;
    }
  }
  if (port_ == 0) throw std::runtime_error("rogue server: no port free for both TCP and UDP");
}

RogueServer::~RogueServer() {
  if (router_ != nullptr) zmq_close(router_);
  zmq_ctx_term(context_);
}

void RogueServer::announce_to(uint16_t node_port) {
  net::Beacon beacon;
  beacon.port = port_;
  beacon.transport_key = account_->transport_public();
  auto signed_beacon = net::sign_beacon(beacon, core::AccountInternals::signal(*account_));
  if (!signed_beacon.is_ok()) throw std::runtime_error("signing the rogue's beacon");
  Status sent = udp_.send_to("127.0.0.1", node_port, net::encode_beacon(signed_beacon.value()));
  if (!sent.is_ok()) throw std::runtime_error("rogue beacon: " + sent.message());
}

bool RogueServer::wait_for_client(std::chrono::milliseconds deadline) {
  return wait_until(
      [&] {
        zmq_msg_t part;
        zmq_msg_init(&part);
        while (zmq_msg_recv(&part, router_, ZMQ_DONTWAIT) >= 0) {
          // [routing id][frame]: the first part names the client.
          if (client_.empty()) {
            const auto* data = static_cast<const uint8_t*>(zmq_msg_data(&part));
            client_.assign(data, data + zmq_msg_size(&part));
          }
        }
        zmq_msg_close(&part);
        return !client_.empty();
      },
      deadline);
}

size_t RogueServer::push(size_t size, size_t count) {
  const Bytes payload(size, 0x42);
  size_t taken = 0;
  for (size_t i = 0; i < count; ++i) {
    if (zmq_send(router_, client_.data(), client_.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) break;
    if (zmq_send(router_, payload.data(), payload.size(), ZMQ_DONTWAIT) < 0) break;
    ++taken;
  }
  return taken;
}

}  // namespace sotto::test
