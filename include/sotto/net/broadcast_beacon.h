// BroadcastBeacon: LAN discovery through CZMQ's zbeacon actor (UDP broadcast, default port
// 47474). Publishes our beacon every interval (the first at once) and hands every beacon heard
// from another host to a callback; the node verifies them (net/beacon.h).
// zbeacon skips loopback interfaces: discovery works between hosts (or network namespaces), and
// --peer covers loopback. Thread-safety: one thread; registers with that thread's Poller.
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

class BroadcastBeacon {
 public:
  // Listens for beacons on `interface` (a network interface name, or empty to let CZMQ pick the
  // first usable one); host() then says which address that is, so the node can listen there
  // and nowhere else. Errors: Unavailable when no interface can broadcast.
  static Result<std::unique_ptr<BroadcastBeacon>> open(const std::string& interface, uint16_t port,
                                                       Poller& poller,
                                                       std::function<void(Datagram)> on_beacon);
  // Broadcasts `beacon` every `interval_ms` from now on (the first at once), replacing what was
  // published before.
  void publish(ByteView beacon, int interval_ms);
  // Deferred: beacons wait (in the actor's pipe) for take_waiting() instead of waking the loop
  // one by one; the node defers them while its LAN is stable and reads them on its timer.
  void defer(bool deferred);
  // Hands every beacon waiting to the callback.
  void take_waiting() { on_readable(); }
  ~BroadcastBeacon();
  BroadcastBeacon(const BroadcastBeacon&) = delete;
  BroadcastBeacon& operator=(const BroadcastBeacon&) = delete;

  // Our address on the beacon's interface, as CZMQ found it.
  const std::string& host() const { return host_; }

 private:
  BroadcastBeacon(Poller& poller, std::function<void(Datagram)> on_beacon)
      : poller_(poller), on_beacon_(std::move(on_beacon)) {}
  void on_readable();

  Poller& poller_;
  std::function<void(Datagram)> on_beacon_;
  void* actor_ = nullptr;   // zactor_t*
  void* socket_ = nullptr;  // its zmq socket, for the Poller
  std::string host_;
  bool deferred_ = false;
};

// Turns off CZMQ's signal handlers and logging (they would fight the node and the TUI).
// Idempotent; call before anything else from CZMQ runs.
void quiet_czmq();

}  // namespace sotto::net
