#include "sotto/net/broadcast_beacon.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

namespace sotto::net {
namespace {

std::string dotted(const sockaddr* address) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
  return text;
}

bool can_broadcast(const ifaddrs& it) {
  constexpr unsigned kNeeded = IFF_UP | IFF_BROADCAST;
  return it.ifa_addr != nullptr && it.ifa_addr->sa_family == AF_INET &&
         it.ifa_broadaddr != nullptr && (it.ifa_flags & kNeeded) == kNeeded &&
         (it.ifa_flags & (IFF_LOOPBACK | IFF_POINTOPOINT)) == 0;
}

}  // namespace

Result<BroadcastInterface> find_broadcast_interface(const std::string& name) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return Status::unavailable("cannot list network interfaces");
  std::optional<BroadcastInterface> found;
  for (const ifaddrs* it = list; it != nullptr && !found; it = it->ifa_next) {
    if (!can_broadcast(*it) || (!name.empty() && name != it->ifa_name)) continue;
    found = BroadcastInterface{it->ifa_name, dotted(it->ifa_addr), dotted(it->ifa_broadaddr)};
  }
  freeifaddrs(list);
  if (found) return *found;
  return Status::unavailable(name.empty()
                                 ? "no network interface can broadcast beacons (use --peer or "
                                   "--no-discovery)"
                                 : "interface " + name + " cannot broadcast beacons");
}

Result<std::unique_ptr<BroadcastBeacon>> BroadcastBeacon::open(
    const std::string& interface, uint16_t port, Poller& poller,
    std::function<void(Datagram)> on_beacon) {
  std::unique_ptr<BroadcastBeacon> self(new BroadcastBeacon(poller, std::move(on_beacon)));
  SOTTO_ASSIGN_OR_RETURN(self->interface_, find_broadcast_interface(interface));
  // Bound to the broadcast address, not ours: it hears broadcasts and nothing sent to us alone
  // (our unicast socket takes those).
  SOTTO_ASSIGN_OR_RETURN(self->socket_,
                         UdpSocket::bind_broadcast(self->interface_.broadcast, port));
  self->port_ = port;
  poller.add_fd(self->socket_.fd(), [raw = self.get()] { raw->on_readable(); });
  return self;
}

Status BroadcastBeacon::send(ByteView beacon) {
  return socket_.send_to(interface_.broadcast, port_, beacon);
}

void BroadcastBeacon::defer(bool deferred) {
  if (deferred == deferred_) return;
  deferred_ = deferred;
  poller_.hold_fd(socket_.fd(), deferred);
}

BroadcastBeacon::~BroadcastBeacon() {
  if (socket_.fd() >= 0) poller_.remove_fd(socket_.fd());
}

void BroadcastBeacon::on_readable() {
  // A deferred read takes all that waited (a second of a large LAN's beacons); a prompt one
  // leaves the rest for the next round, so other sockets are served in between.
  const int most = deferred_ ? 4096 : 64;
  for (int i = 0; i < most; ++i) {
    auto received = socket_.receive();
    if (!received.is_ok() || !received.value()) return;
    on_beacon_(std::move(*received.value()));
  }
}

}  // namespace sotto::net
