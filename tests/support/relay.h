// LoopbackRelay: a man in the middle between nodes on loopback, which keeps a copy of every byte
// that crosses it (to show what a LAN eavesdropper sees) and can hold one direction back (to
// lose acknowledgements without losing the connection).
//
// A node advertises its TCP port in its beacon and sends the beacon from the UDP socket bound
// to the same port number; a peer checks both and then connects to <beacon's source
// address>:<port>. So the relay "mirrors" each node: for a node on 127.0.0.1:P it binds TCP and
// UDP on 127.0.0.2:P (same number, another loopback address).
//   - TCP accepted on 127.0.0.2:P is connected on to 127.0.0.1:P and copied both ways;
//   - a datagram from 127.0.0.1:Q to 127.0.0.2:P goes on to 127.0.0.1:P from 127.0.0.2:Q, so
//     the receiving node sees the sender's port number and answers to (or connects to) the
//     sender's mirror.
// A node told `--peer tcp://127.0.0.2:P` therefore reaches node P only through the relay, and
// P learns the other node's mirror as its endpoint: every byte between the two crosses here.
// A datagram from a port not mirrored yet mirrors that port first.
//
// Thread-safety: the relay runs its own thread; the public calls may come from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"

namespace sotto::test {

class LoopbackRelay {
 public:
  static constexpr const char* kMirrorAddress = "127.0.0.2";

  explicit LoopbackRelay(const std::vector<uint16_t>& ports = {});
  ~LoopbackRelay();
  LoopbackRelay(const LoopbackRelay&) = delete;
  LoopbackRelay& operator=(const LoopbackRelay&) = delete;

  // Mirrors 127.0.0.1:port (throws when 127.0.0.2:port cannot be bound).
  void mirror(uint16_t port);
  // "tcp://127.0.0.2:PORT": where a node reaches node PORT through the relay.
  static std::string endpoint_of(uint16_t port);

  // Bytes going to node `port` over TCP wait (unread, in the kernel's buffers) until release().
  void hold_towards(uint16_t port);
  void release(uint16_t port);

  // What crossed so far: each TCP direction of each connection and each datagram is one
  // transcript, so a needle is never split by interleaving.
  std::vector<Bytes> transcripts() const;
  bool saw(const std::string& needle) const;
  uint64_t tcp_bytes() const;
  uint64_t datagrams() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sotto::test
