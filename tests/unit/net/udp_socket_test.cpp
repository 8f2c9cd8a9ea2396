// UdpSocket on 127.0.0.1: what a batched read (recvmmsg) hands over, and how it cuts.
#include <catch2/catch.hpp>

#include <poll.h>

#include <vector>

#include "sotto/net/udp_socket.h"

using namespace sotto;

namespace {

// Waits (a second at most) until the socket has something to read.
bool readable(const net::UdpSocket& socket) {
  pollfd fd{socket.fd(), POLLIN, 0};
  return ::poll(&fd, 1, 1000) == 1;
}

}  // namespace

TEST_CASE("a batched read takes what waits, up to a batch, each cut as a single read cuts it",
          "[net][udp]") {
  auto receiver = net::UdpSocket::bind("127.0.0.1", 0);
  auto sender = net::UdpSocket::bind("127.0.0.1", 0);
  REQUIRE(receiver.is_ok());
  REQUIRE(sender.is_ok());
  const uint16_t port = receiver.value().local_port().value();
  const uint16_t from_port = sender.value().local_port().value();

  auto none = receiver.value().receive_some(100);
  REQUIRE(none.is_ok());
  CHECK(none.value().empty());

  // Twenty datagrams: sizes 0..19 times 10 bytes, each filled with its own index; the last few
  // longer than the 100 bytes asked for.
  const size_t sent = net::UdpSocket::kMaxBatch + 4;
  for (size_t i = 0; i < sent; ++i) {
    REQUIRE(
        sender.value().send_to("127.0.0.1", port, Bytes(i * 10, static_cast<uint8_t>(i))).is_ok());
  }
  REQUIRE(readable(receiver.value()));
  std::vector<net::Datagram> got;
  for (int reads = 0; reads < 10 && got.size() < sent; ++reads) {
    auto batch = receiver.value().receive_some(100);
    REQUIRE(batch.is_ok());
    CHECK(batch.value().size() <= net::UdpSocket::kMaxBatch);
    got.insert(got.end(), batch.value().begin(), batch.value().end());
  }
  REQUIRE(got.size() == sent);
  for (size_t i = 0; i < sent; ++i) {
    INFO("datagram " << i);
    CHECK(got[i].from_address() == "127.0.0.1");
    CHECK(got[i].from_port == from_port);
    // An oversized one shows as one byte over the limit, so the caller counts and drops it.
    CHECK(got[i].data.size() == std::min<size_t>(i * 10, 101));
    CHECK(got[i].data == Bytes(got[i].data.size(), static_cast<uint8_t>(i)));
  }
  auto drained = receiver.value().receive_some(100);
  REQUIRE(drained.is_ok());
  CHECK(drained.value().empty());
}
