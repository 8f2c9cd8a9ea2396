#include <zmq.h>

#include <catch2/catch.hpp>
#include <chrono>

#include "sotto/net/zmq_socket.h"
#include "tests/support/wait.h"

using namespace sotto;

namespace {

// Reads every waiting event; returns how many of them were `event`.
int count_events(net::ZmqMonitor& monitor, uint16_t event) {
  int seen = 0;
  for (;;) {
    auto message = monitor.events().receive_message(2);
    if (!message.is_ok() || !message.value()) return seen;
    const Bytes& head = message.value()->front().data;
    if (head.size() >= 2 && (head[0] | (head[1] << 8)) == event) ++seen;
  }
}

}  // namespace

TEST_CASE("a monitor stopped while its socket keeps failing handshakes stalls nothing",
          "[net][zmq]") {
  net::ZmqContext ctx;  // one I/O thread serves every socket below
  // A CURVE server whose key the client does not have: every handshake fails (the server
  // cannot open the client's HELLO and hangs up), and the client retries.
  char public_key[41], secret_key[41], server_key[41], unused[41], refuser_secret[41];
  REQUIRE(zmq_curve_keypair(public_key, secret_key) == 0);
  REQUIRE(zmq_curve_keypair(server_key, unused) == 0);
  REQUIRE(zmq_curve_keypair(unused, refuser_secret) == 0);
  auto refuser = net::ZmqSocket::create(ctx, ZMQ_ROUTER).value();
  REQUIRE(refuser.set(ZMQ_CURVE_SERVER, 1).is_ok());
  REQUIRE(refuser.set(ZMQ_CURVE_SECRETKEY, std::string(refuser_secret)).is_ok());
  REQUIRE(refuser.bind("tcp://127.0.0.1:*").is_ok());
  const std::string endpoint = refuser.get_string(ZMQ_LAST_ENDPOINT).value();
  auto accepts = net::ZmqMonitor::open(ctx, refuser, "inproc://refuser", ZMQ_EVENT_ACCEPTED);
  REQUIRE(accepts.is_ok());

  auto client = net::ZmqSocket::create(ctx, ZMQ_DEALER).value();
  REQUIRE(client.set(ZMQ_CURVE_SERVERKEY, std::string(server_key)).is_ok());
  REQUIRE(client.set(ZMQ_CURVE_PUBLICKEY, std::string(public_key)).is_ok());
  REQUIRE(client.set(ZMQ_CURVE_SECRETKEY, std::string(secret_key)).is_ok());
  REQUIRE(client.set(ZMQ_RECONNECT_IVL, 5).is_ok());
  auto watched = net::ZmqMonitor::open(ctx, client, "inproc://client", ZMQ_EVENT_ALL);
  REQUIRE(watched.is_ok());
  REQUIRE(client.connect(endpoint).is_ok());

  auto wait_for_accepts = [&](int wanted) {
    int seen = 0;
    (void)test::wait_until(
        [&] {
          seen += count_events(accepts.value(), ZMQ_EVENT_ACCEPTED);
          return seen >= wanted;
        },
        std::chrono::seconds(5));
    return seen;
  };
  REQUIRE(wait_for_accepts(2) >= 2);  // the client is retrying, and its monitor is fed

  // The client's events now have no reader. Were its monitor's PAIR merely closed, the next
  // event would block the I/O thread, and the refuser would accept no one again.
  watched.value().stop();
  CHECK(wait_for_accepts(5) >= 5);
}
