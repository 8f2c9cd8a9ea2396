// UdpSocket: a non-blocking IPv4 datagram socket. The unicast beacon socket is bound on the same
// port number as the node's TCP listener, so a peer given as tcp://HOST:PORT can be asked for its
// beacon at udp://HOST:PORT; the voice datagram socket on a port of its own, announced in Hello.
// The node's Poller watches fd().
// Thread-safety: one thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::net {

struct Datagram {
  uint32_t from_ip = 0;  // IPv4, network byte order
  uint16_t from_port = 0;
  Bytes data;
  // Dotted ("192.0.2.7"), formatted when asked: the voice path knows a datagram by its seal.
  std::string from_address() const;
};

struct OutgoingDatagram {
  uint32_t ip = 0;  // IPv4, network byte order (ipv4_of)
  uint16_t port = 0;
  Bytes data;
};

class UdpSocket {
 public:
  static constexpr size_t kMaxDatagram = 512;     // a beacon
  static constexpr size_t kMaxReceivable = 2048;  // the most receive() can be asked for

  // Binds `address` ("0.0.0.0", "127.0.0.1", ...) and `port`.
  static Result<UdpSocket> bind(const std::string& address, uint16_t port);
  // Binds an interface's broadcast `address` and `port`, shared: every node on the host that
  // binds it hears each broadcast (SO_REUSEADDR), and it may send to `address` (SO_BROADCAST).
  // Its buffer holds a second of a large LAN's beacons, read in one go.
  static Result<UdpSocket> bind_broadcast(const std::string& address, uint16_t port);
  UdpSocket() = default;
  ~UdpSocket();
  UdpSocket(UdpSocket&& other) noexcept;
  UdpSocket& operator=(UdpSocket&& other) noexcept;
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  int fd() const { return fd_; }
  // The port bound (the one the kernel picked when bound to port 0).
  Result<uint16_t> local_port() const;
  Status send_to(const std::string& address, uint16_t port, ByteView data);
  // Sends them all in as few system calls as the kernel allows (sendmmsg), without waiting.
  // How many the kernel refused (each is skipped and the rest still sent).
  size_t send_all(std::span<const OutgoingDatagram> datagrams);
  // nullopt when nothing is waiting. Datagrams larger than `max_size` (at most kMaxReceivable)
  // arrive truncated and are reported with data.size() == max_size + 1, so callers can count
  // and drop them.
  Result<std::optional<Datagram>> receive(size_t max_size = kMaxDatagram);
  // Up to `max_count` (at most kMaxBatch) of the datagrams waiting, in one system call
  // (recvmmsg), each cut as receive() cuts it; none when nothing is waiting. Fewer than asked
  // means the socket was drained: no second call is needed only to hear that.
  Result<std::vector<Datagram>> receive_some(size_t max_size, size_t max_count = kMaxBatch);
  static constexpr size_t kMaxBatch = 16;

 private:
  explicit UdpSocket(int fd) : fd_(fd) {}
  static Result<UdpSocket> open(const std::string& address, uint16_t port, bool broadcast);
  int fd_ = -1;
  // send_all's working sets, kept between calls: a talker sends every voice frame.
  std::vector<sockaddr_in> to_;
  std::vector<iovec> parts_;
  std::vector<mmsghdr> messages_;
};

// Resolves "HOST" (a dotted IPv4 address only: sotto never asks DNS) for --peer endpoints.
bool is_ipv4_address(const std::string& host);
// The address in network byte order, or nullopt when `host` is not a dotted IPv4 address.
std::optional<uint32_t> ipv4_of(const std::string& host);

}  // namespace sotto::net

namespace sotto::net {

// The first IPv4 address of network interface `name` (getifaddrs; no name service involved).
Result<std::string> interface_ipv4(const std::string& name);

}  // namespace sotto::net
