#include "sotto/net/broadcast_beacon.h"

#include <czmq.h>

#include <mutex>

namespace sotto::net {

void quiet_czmq() {
  static std::once_flag once;
  std::call_once(once, [] {
    zsys_handler_set(nullptr);
    zsys_set_logstream(nullptr);
    zsys_set_logsystem(false);
  });
}

Result<std::unique_ptr<BroadcastBeacon>> BroadcastBeacon::open(
    const std::string& interface, uint16_t port, Poller& poller,
    std::function<void(Datagram)> on_beacon) {
  quiet_czmq();
  // CZMQ reads the interface from a process-wide setting when the actor configures itself.
  zsys_set_interface(interface.c_str());
  std::unique_ptr<BroadcastBeacon> self(new BroadcastBeacon(poller, std::move(on_beacon)));
  zactor_t* actor = zactor_new(zbeacon, nullptr);
  if (actor == nullptr) return Status::unavailable("cannot start the discovery beacon");
  self->actor_ = actor;
  zsock_send(actor, "si", "CONFIGURE", static_cast<int>(port));
  char* host = zstr_recv(actor);
  self->host_ = host != nullptr ? host : "";
  zstr_free(&host);
  if (self->host_.empty()) {
    return Status::unavailable(interface.empty()
                                   ? "no network interface can broadcast beacons (use --peer or "
                                     "--no-discovery)"
                                   : "interface " + interface + " cannot broadcast beacons");
  }
  // Every beacon: sealed ones have no plaintext prefix to filter on.
  zsock_send(actor, "sb", "SUBSCRIBE", "", static_cast<size_t>(0));
  self->socket_ = zsock_resolve(actor);
  poller.add_socket(self->socket_, [raw = self.get()] { raw->on_readable(); });
  return self;
}

void BroadcastBeacon::publish(ByteView beacon, int interval_ms) {
  // Our own beacons are fixed-size records far below CZMQ's UDP_FRAME_MAX (net/beacon.h).
  zsock_send(actor_, "sbi", "PUBLISH", beacon.data(), beacon.size(), interval_ms);
}

void BroadcastBeacon::defer(bool deferred) {
  if (deferred == deferred_) return;
  deferred_ = deferred;
  poller_.hold(socket_, deferred);
}

BroadcastBeacon::~BroadcastBeacon() {
  if (socket_ != nullptr) poller_.remove_socket(socket_);
  if (actor_ != nullptr) {
    auto* actor = static_cast<zactor_t*>(actor_);
    zactor_destroy(&actor);
  }
}

void BroadcastBeacon::on_readable() {
  // A deferred read takes all that waited (a second of a large LAN's beacons); a prompt one
  // leaves the rest for the next round, so other sockets are served in between.
  const int most = deferred_ ? 4096 : 64;
  for (int i = 0; i < most; ++i) {
    auto* actor = static_cast<zactor_t*>(actor_);
    if (!(zsock_events(actor) & ZMQ_POLLIN)) {
      poller_.drained(socket_);
      return;
    }
    zmsg_t* msg = zmsg_recv(actor);
    if (msg == nullptr) return;
    char* address = zmsg_popstr(msg);
    zframe_t* frame = zmsg_pop(msg);
    if (address != nullptr && frame != nullptr) {
      Datagram datagram;
      datagram.from_address = address;
      const auto* data = zframe_data(frame);
      datagram.data.assign(data, data + zframe_size(frame));
      on_beacon_(std::move(datagram));
    }
    zstr_free(&address);
    zframe_destroy(&frame);
    zmsg_destroy(&msg);
  }
}

}  // namespace sotto::net
