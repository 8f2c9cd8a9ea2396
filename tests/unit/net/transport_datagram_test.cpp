// Voice datagrams between Transports on 127.0.0.1 (doc/protocol.md, Voice datagrams): a sealed
// datagram reaches the node with its sender's key; anything else sent to the datagram port
// (garbage, an unknown pair, a forged one, a replay, a datagram of the sender's previous run, an
// oversized one) is refused and counted, and a genuine datagram after a burst still arrives.
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
    REQUIRE(transport->datagram_session() != 0);
  }

  // What the node does when `from`'s Hello arrived: its key admitted, its session expected, and
  // `from` told where to send.
  void meet(End& from, const std::string& name) {
    transport->admit(from.public_key, name);
    REQUIRE(transport
                ->expect_datagrams(from.public_key, from.transport->datagram_session(),
                                   from.transport->next_datagram_number(public_key))
                .is_ok());
    REQUIRE(from.transport
                ->set_datagram_route("peer", "127.0.0.1", transport->datagram_port(), public_key)
                .is_ok());
  }

  // Polls until `count` datagrams were handed over or refused, or a second passed.
  void take(uint64_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    auto done = [&] {
      const auto& s = transport->stats();
      return s.datagrams_in + s.datagrams_refused + s.datagrams_replayed >= count;
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
  bob.meet(alice, "alice");
  const Bytes frame = crypto::random_bytes(256);
  REQUIRE(alice.transport->send_datagram("peer", frame).is_ok());
  CHECK(alice.transport->stats().datagrams_out == 0);  // sealed, waiting for the flush
  alice.transport->flush_datagrams();
  bob.take(1);
  REQUIRE(bob.received.size() == 1);
  CHECK(bob.received[0].sender == alice.public_key);
  CHECK(bob.received[0].frame == frame);
  CHECK(alice.transport->stats().datagrams_out == 1);

  // No route, or a frame too large for one datagram: the caller sends it over the link.
  CHECK(alice.transport->send_datagram("carol", frame).code() == StatusCode::kUnavailable);
  CHECK(alice.transport->send_datagram("peer", Bytes(1200, 1)).code() == StatusCode::kUnavailable);
  CHECK(alice.transport->set_datagram_route("peer", "bob.lan", 5000, bob.public_key).code() ==
        StatusCode::kInvalidArgument);
  // Port 0 removes the route; so does the peer's key losing its last claim.
  REQUIRE(alice.transport->set_datagram_route("peer", "127.0.0.1", 0, bob.public_key).is_ok());
  CHECK_FALSE(alice.transport->has_datagram_route("peer"));
  REQUIRE(
      alice.transport
          ->set_datagram_route("peer", "127.0.0.1", bob.transport->datagram_port(), bob.public_key)
          .is_ok());
  alice.transport->admit(bob.public_key, "peer");
  alice.transport->revoke(bob.public_key, "peer");
  CHECK_FALSE(alice.transport->has_datagram_route("peer"));
  // A session is expected only from an admitted key.
  CHECK(bob.transport->expect_datagrams(crypto::random_bytes(32), 5, 0).code() ==
        StatusCode::kUnavailable);
}

TEST_CASE(
    "datagrams that are garbage, of no known pair, forged, replayed, of the sender's previous run "
    "or oversized are refused and counted; a genuine one after them still arrives",
    "[net][transport][datagram][security]") {
  End alice, bob, mallory;
  bob.meet(alice, "alice");
  const uint16_t port = bob.transport->datagram_port();
  const Bytes frame = crypto::random_bytes(100);
  auto seal_as = [&](End& who, uint64_t session) {
    auto seal = crypto::PairSeal::to(who.secret, who.public_key, bob.public_key, session);
    REQUIRE(seal.is_ok());
    return std::move(seal).value();
  };
  const crypto::PairSeal alice_now = seal_as(alice, alice.transport->datagram_session());

  send_raw(port, Bytes{});
  send_raw(port, crypto::random_bytes(50));
  send_raw(port, crypto::random_bytes(300));
  // Mallory's own pair: Bob was told no session of hers.
  send_raw(port, seal_as(mallory, 99).seal(1, frame));
  // Mallory under the tag of Alice's pair.
  Bytes forged = seal_as(mallory, alice.transport->datagram_session()).seal(2, frame);
  std::copy(alice_now.tag().begin(), alice_now.tag().end(), forged.begin() + 1);
  send_raw(port, forged);
  // Alice's genuine datagram, changed on the way.
  Bytes changed = alice_now.seal(3, frame);
  changed.back() ^= 0x80;
  send_raw(port, changed);
  // Alice's datagram of a previous run (another session).
  send_raw(port, seal_as(alice, alice.transport->datagram_session() + 1).seal(4, frame));
  // Genuine, but larger than the limit: refused whole, not cut.
  send_raw(port, alice_now.seal(5, Bytes(1200, 2)));
  constexpr uint64_t kRefused = 8;
  // A burst a sender could make at will.
  for (int i = 0; i < 40; ++i) send_raw(port, forged);
  // A genuine datagram, then the same again (a replay), and one far behind the window.
  const Bytes genuine = alice_now.seal(1000, frame);
  send_raw(port, genuine);
  send_raw(port, genuine);
  send_raw(port, alice_now.seal(1000 - crypto::ReplayWindow::kSize - 1, frame));
  send_raw(port, alice_now.seal(1001, frame));

  bob.take(kRefused + 40 + 4);
  const net::TransportStats& stats = bob.transport->stats();
  CHECK(stats.datagrams_refused == kRefused + 40);
  CHECK(stats.datagrams_replayed == 2);
  CHECK(stats.datagrams_in == 2);
  REQUIRE(bob.received.size() == 2);
  CHECK(bob.received[0].sender == alice.public_key);
  CHECK(bob.received[0].frame == frame);

  // Alice's Hello again on a new connection, same run: what was taken stays taken.
  const uint64_t session = alice.transport->datagram_session();
  REQUIRE(bob.transport->expect_datagrams(alice.public_key, session, 0).is_ok());
  send_raw(port, genuine);
  bob.take(kRefused + 40 + 5);
  CHECK(bob.transport->stats().datagrams_replayed == 3);
  // Bob forgot Alice (as a restart does) and hears her Hello again, same run: the numbers it
  // names as her next make everything captured before it old.
  REQUIRE(bob.transport->expect_datagrams(alice.public_key, 0, 0).is_ok());
  REQUIRE(bob.transport->expect_datagrams(alice.public_key, session, 1002).is_ok());
  send_raw(port, genuine);
  send_raw(port, alice_now.seal(1001, frame));
  send_raw(port, alice_now.seal(1002, frame));
  bob.take(kRefused + 40 + 8);
  CHECK(bob.transport->stats().datagrams_replayed == 5);
  CHECK(bob.received.size() == 3);
  // Alice's key no longer claimed by anyone: her datagrams are not opened.
  bob.transport->revoke(alice.public_key, "alice");
  send_raw(port, alice_now.seal(1003, frame));
  bob.take(kRefused + 40 + 9);
  CHECK(bob.transport->stats().datagrams_refused == kRefused + 41);
  CHECK(bob.received.size() == 3);
}

TEST_CASE("a sender numbers its datagrams per receiver, and a new route goes on counting",
          "[net][transport][datagram]") {
  End alice, bob, carol;
  bob.meet(alice, "alice");
  REQUIRE(alice.transport->send_datagram("peer", Bytes(10, 1)).is_ok());
  REQUIRE(alice.transport->send_datagram("peer", Bytes(10, 2)).is_ok());
  CHECK(alice.transport->next_datagram_number(bob.public_key) == 2);
  CHECK(alice.transport->next_datagram_number(carol.public_key) == 0);
  // Bob's Hello names a new port: the route is made again, the numbers go on.
  REQUIRE(alice.transport->set_datagram_route("peer", "127.0.0.1", 1, bob.public_key).is_ok());
  REQUIRE(
      alice.transport
          ->set_datagram_route("peer", "127.0.0.1", bob.transport->datagram_port(), bob.public_key)
          .is_ok());
  REQUIRE(alice.transport->send_datagram("peer", Bytes(10, 3)).is_ok());
  CHECK(alice.transport->next_datagram_number(bob.public_key) == 3);
  alice.transport->flush_datagrams();
  CHECK(alice.transport->stats().datagrams_out == 3);
  bob.take(3);
  CHECK(bob.received.size() == 3);
}

TEST_CASE("one flush hands a frame's datagrams for several listeners to the kernel together",
          "[net][transport][datagram]") {
  End alice;
  std::vector<std::unique_ptr<End>> listeners;
  for (int i = 0; i < 4; ++i) {
    listeners.push_back(std::make_unique<End>());
    End& listener = *listeners.back();
    listener.transport->admit(alice.public_key, "alice");
    REQUIRE(listener.transport
                ->expect_datagrams(alice.public_key, alice.transport->datagram_session(), 0)
                .is_ok());
    REQUIRE(alice.transport
                ->set_datagram_route("l" + std::to_string(i), "127.0.0.1",
                                     listener.transport->datagram_port(), listener.public_key)
                .is_ok());
  }
  const Bytes frame = crypto::random_bytes(200);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(alice.transport->send_datagram("l" + std::to_string(i), frame).is_ok());
  }
  alice.transport->flush_datagrams();
  alice.transport->flush_datagrams();  // nothing more to send
  CHECK(alice.transport->stats().datagrams_out == 4);
  CHECK(alice.transport->stats().datagram_send_failed == 0);
  for (auto& listener : listeners) {
    listener->take(1);
    REQUIRE(listener->received.size() == 1);
    CHECK(listener->received[0].frame == frame);
  }
}
