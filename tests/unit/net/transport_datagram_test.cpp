// Voice datagrams between two Transports on 127.0.0.1 (doc/protocol.md, Voice datagrams): a
// sealed datagram reaches the node with its sender's key; anything else sent to the datagram
// port (garbage, an unknown sender, a forged sender, an oversized datagram) is refused and
// counted, and a genuine datagram after a burst of them still arrives.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sotto/crypto/pair_seal.h"
#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/net/poller.h"
#include "sotto/net/transport.h"
#include "sotto/net/udp_socket.h"
#include "sotto/net/zmq_socket.h"

using namespace sotto;

namespace {

struct Received {
  Bytes sender;
  Bytes frame;
};

// One end: a Transport on its own Poller, and what it handed over as datagrams.
struct End {
  net::ZmqContext context;
  net::Poller poller;
  Bytes public_key;
  SecretBytes secret;
  std::unique_ptr<net::Transport> transport;
  std::vector<Received> received;

  End() {
    auto keys = crypto::SignalEngine::generate_curve_key_pair();
    REQUIRE(keys.is_ok());
    public_key = keys.value().first;
    secret = SecretBytes::copy_of(keys.value().second.view());
    net::Transport::Callbacks callbacks;
    callbacks.on_datagram = [this](const Bytes& sender, Bytes frame) {
      received.push_back({sender, std::move(frame)});
    };
    auto created = net::Transport::create(context, poller, net::TransportOptions{}, public_key,
                                          secret, callbacks);
    REQUIRE(created.is_ok());
    transport = std::move(created).value();
    REQUIRE(transport->datagram_port() != 0);
  }

  // Polls until `count` datagrams were handed over or refused, or a second passed.
  void take(uint64_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    auto done = [&] {
      const auto& s = transport->stats();
      return s.datagrams_in + s.datagrams_refused >= count;
    };
    while (!done() && std::chrono::steady_clock::now() < deadline) (void)poller.poll(10);
  }
};

void send_raw(uint16_t port, ByteView datagram) {
  auto socket = net::UdpSocket::bind("127.0.0.1", 0);
  REQUIRE(socket.is_ok());
  REQUIRE(socket.value().send_to("127.0.0.1", port, datagram).is_ok());
}

}  // namespace

TEST_CASE("a datagram sent to a peer's route arrives with the sender's key",
          "[net][transport][datagram]") {
  End alice, bob;
  bob.transport->admit(alice.public_key, "alice");
  REQUIRE(
      alice.transport
          ->set_datagram_route("bob", "127.0.0.1", bob.transport->datagram_port(), bob.public_key)
          .is_ok());
  const Bytes frame = crypto::random_bytes(256);
  REQUIRE(alice.transport->send_datagram("bob", frame).is_ok());
  bob.take(1);
  REQUIRE(bob.received.size() == 1);
  CHECK(bob.received[0].sender == alice.public_key);
  CHECK(bob.received[0].frame == frame);
  CHECK(alice.transport->stats().datagrams_out == 1);

  // No route, or a frame too large for one datagram: the caller sends it over the link.
  CHECK(alice.transport->send_datagram("carol", frame).code() == StatusCode::kUnavailable);
  CHECK(alice.transport->send_datagram("bob", Bytes(1200, 1)).code() == StatusCode::kUnavailable);
  // Port 0 removes the route; so does the peer's key losing its last claim.
  REQUIRE(alice.transport->set_datagram_route("bob", "127.0.0.1", 0, bob.public_key).is_ok());
  CHECK_FALSE(alice.transport->has_datagram_route("bob"));
  CHECK(alice.transport->set_datagram_route("bob", "bob.lan", 5000, bob.public_key).code() ==
        StatusCode::kInvalidArgument);
  REQUIRE(
      alice.transport
          ->set_datagram_route("bob", "127.0.0.1", bob.transport->datagram_port(), bob.public_key)
          .is_ok());
  alice.transport->admit(bob.public_key, "bob");
  alice.transport->revoke(bob.public_key, "bob");
  CHECK_FALSE(alice.transport->has_datagram_route("bob"));
}

TEST_CASE(
    "datagrams that are garbage, from an unknown key, forged for an admitted key or oversized are "
    "refused and counted; a genuine one after them still arrives",
    "[net][transport][datagram][security]") {
  End alice, bob, mallory;
  bob.transport->admit(alice.public_key, "alice");
  const uint16_t port = bob.transport->datagram_port();
  const Bytes frame = crypto::random_bytes(100);

  send_raw(port, Bytes{});
  send_raw(port, crypto::random_bytes(50));
  send_raw(port, crypto::random_bytes(300));
  // Mallory's own key: not admitted, so not even a key agreement is made for it.
  auto mallory_seal = crypto::PairSeal::to(mallory.secret, mallory.public_key, bob.public_key);
  REQUIRE(mallory_seal.is_ok());
  send_raw(port, mallory_seal.value().seal(frame));
  // Mallory writes Alice's admitted key in.
  Bytes forged = mallory_seal.value().seal(frame);
  std::copy(alice.public_key.begin(), alice.public_key.end(), forged.begin() + 1);
  send_raw(port, forged);
  // Alice's genuine datagram, changed on the way.
  auto alice_seal = crypto::PairSeal::to(alice.secret, alice.public_key, bob.public_key);
  REQUIRE(alice_seal.is_ok());
  Bytes changed = alice_seal.value().seal(frame);
  changed.back() ^= 0x80;
  send_raw(port, changed);
  // Genuine, but larger than the limit: refused whole, not cut.
  send_raw(port, alice_seal.value().seal(Bytes(1200, 2)));
  constexpr uint64_t kRefused = 7;
  // A burst a sender could make at will, then the genuine one.
  for (int i = 0; i < 50; ++i) send_raw(port, forged);
  send_raw(port, alice_seal.value().seal(frame));

  bob.take(kRefused + 50 + 1);
  const net::TransportStats& stats = bob.transport->stats();
  CHECK(stats.datagrams_refused == kRefused + 50);
  CHECK(stats.datagrams_in == 1);
  REQUIRE(bob.received.size() == 1);
  CHECK(bob.received[0].sender == alice.public_key);
  CHECK(bob.received[0].frame == frame);
}
