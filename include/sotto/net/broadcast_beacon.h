// BroadcastBeacon: LAN discovery over UDP broadcast (default port 47474). Sends our beacon to
// the interface's broadcast address when asked and hands every beacon heard from another node
// to a callback; the node verifies them (net/beacon.h).
//
// Our own socket rather than CZMQ's zbeacon actor (doc/architecture.md, Discovery): the actor
// is a thread that wakes for every datagram to forward it over a pipe, which cost a large LAN's
// nodes more than checking the beacon did. Here a datagram waits in the socket's buffer until
// the loop reads it, and a stable LAN's beacons are read once a second in one go. The bytes on
// the wire are the same as zbeacon's (the beacon alone, no header).
// Like zbeacon it skips loopback interfaces: discovery works between hosts (or network
// namespaces), and --peer covers loopback. Thread-safety: one thread; registers with that
// thread's Poller.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/net/poller.h"
#include "sotto/net/udp_socket.h"

namespace sotto::net {

// An IPv4 interface that can broadcast: up, not loopback, not point-to-point.
struct BroadcastInterface {
  std::string name;
  std::string address;    // ours on it, dotted
  std::string broadcast;  // its broadcast address, dotted
};

// The interface called `name`, or the first that can broadcast when `name` is empty.
// Errors: Unavailable when there is none (or `name` cannot broadcast).
Result<BroadcastInterface> find_broadcast_interface(const std::string& name);

class BroadcastBeacon {
 public:
  // Listens for beacons on `interface` (a network interface name, or empty for the first that
  // can broadcast); host() then says which address that is, so the node can listen there and
  // nowhere else. Several nodes on one host may listen on the same port: each hears every
  // beacon. Errors: Unavailable when no interface can broadcast; the socket's own otherwise.
  static Result<std::unique_ptr<BroadcastBeacon>> open(const std::string& interface, uint16_t port,
                                                       Poller& poller,
                                                       std::function<void(Datagram)> on_beacon);
  // Broadcasts `beacon` once. It comes back to us too, as it does to every node on the port.
  Status send(ByteView beacon);
  // Deferred: beacons wait in the socket's buffer for take_waiting() instead of waking the loop
  // one by one; the node defers them while its LAN is stable and reads them on its timer.
  void defer(bool deferred);
  // Hands every beacon waiting to the callback (one larger than UdpSocket::kMaxDatagram arrives
  // cut to kMaxDatagram + 1 bytes, for the callback to count and drop).
  void take_waiting() { on_readable(); }
  ~BroadcastBeacon();
  BroadcastBeacon(const BroadcastBeacon&) = delete;
  BroadcastBeacon& operator=(const BroadcastBeacon&) = delete;

  // Our address on the beacon's interface.
  const std::string& host() const { return interface_.address; }

 private:
  BroadcastBeacon(Poller& poller, std::function<void(Datagram)> on_beacon)
      : poller_(poller), on_beacon_(std::move(on_beacon)) {}
  void on_readable();

  Poller& poller_;
  std::function<void(Datagram)> on_beacon_;
  BroadcastInterface interface_;
  uint16_t port_ = 0;
  UdpSocket socket_;
  bool deferred_ = false;
};

}  // namespace sotto::net
