#include "sotto/net/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace sotto::net {
namespace {

Status errno_status(const std::string& what) {
  const int err = errno;
  std::string message = what + ": " + std::strerror(err);
  if (err == EADDRINUSE) return Status::busy(message);
  if (err == EACCES || err == EPERM) return Status::permission_denied(message);
  return Status::io_error(message);
}

// A datagram of `length` bytes (the kernel's count: MSG_TRUNC) read into `data`, which holds at
// most max_size + 1 of them.
Datagram datagram_from(const sockaddr_in& from, const uint8_t* data, size_t length,
                       size_t max_size) {
  Datagram datagram;
  datagram.from_ip = from.sin_addr.s_addr;
  datagram.from_port = ntohs(from.sin_port);
  datagram.data.assign(data, data + std::min(length, max_size + 1));
  return datagram;
}

}  // namespace

std::optional<uint32_t> ipv4_of(const std::string& host) {
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return std::nullopt;
  return addr.s_addr;
}

bool is_ipv4_address(const std::string& host) {
  return ipv4_of(host).has_value();
}

Result<UdpSocket> UdpSocket::bind(const std::string& address, uint16_t port) {
  return open(address, port, false);
}

Result<UdpSocket> UdpSocket::bind_broadcast(const std::string& address, uint16_t port) {
  return open(address, port, true);
}

Result<UdpSocket> UdpSocket::open(const std::string& address, uint16_t port, bool broadcast) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return Status::invalid_argument("not an IPv4 address: " + address);
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_status("creating UDP socket");
  UdpSocket socket(fd);
  if (broadcast) {
    const int on = 1;
    // A beacon is a few hundred bytes; the kernel caps this at net.core.rmem_max.
    const int buffer = 1 << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer) != 0) {
      return errno_status("setting up the broadcast socket");
    }
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_status("binding udp://" + address + ":" + std::to_string(port));
  }
  return socket;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Status UdpSocket::send_to(const std::string& address, uint16_t port, ByteView data) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return Status::invalid_argument("not an IPv4 address: " + address);
  }
  ssize_t sent = ::sendto(fd_, data.data(), data.size(), MSG_DONTWAIT,
                          reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (sent < 0) return errno_status("sending a datagram to " + address);
  return Status::ok();
}

size_t UdpSocket::send_all(std::span<const OutgoingDatagram> datagrams) {
  to_.resize(datagrams.size());
  parts_.resize(datagrams.size());
  messages_.resize(datagrams.size());
  for (size_t i = 0; i < datagrams.size(); ++i) {
    to_[i] = sockaddr_in{};
    to_[i].sin_family = AF_INET;
    to_[i].sin_port = htons(datagrams[i].port);
    to_[i].sin_addr.s_addr = datagrams[i].ip;
    parts_[i] = {const_cast<uint8_t*>(datagrams[i].data.data()), datagrams[i].data.size()};
    messages_[i] = mmsghdr{};
    messages_[i].msg_hdr.msg_name = &to_[i];
    messages_[i].msg_hdr.msg_namelen = sizeof to_[i];
    messages_[i].msg_hdr.msg_iov = &parts_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
  }
  size_t refused = 0;
  // sendmmsg stops at the first datagram the kernel refuses: that one is skipped, the rest go on.
  for (size_t at = 0; at < messages_.size();) {
    const int sent = ::sendmmsg(fd_, messages_.data() + at,
                                static_cast<unsigned>(messages_.size() - at), MSG_DONTWAIT);
    if (sent <= 0) {
      ++refused;
      ++at;
    } else {
      at += static_cast<size_t>(sent);
    }
  }
  return refused;
}

Result<uint16_t> UdpSocket::local_port() const {
  sockaddr_in addr{};
  socklen_t size = sizeof addr;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    return errno_status("reading a UDP socket's port");
  }
  return static_cast<uint16_t>(ntohs(addr.sin_port));
}

Result<std::optional<Datagram>> UdpSocket::receive(size_t max_size) {
  max_size = std::min(max_size, kMaxReceivable);
  uint8_t buffer[kMaxReceivable + 1];
  sockaddr_in from{};
  socklen_t from_size = sizeof from;
  ssize_t n = ::recvfrom(fd_, buffer, max_size + 1, MSG_DONTWAIT | MSG_TRUNC,
                         reinterpret_cast<sockaddr*>(&from), &from_size);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::optional<Datagram>();
    return errno_status("receiving a datagram");
  }
  return std::optional<Datagram>(datagram_from(from, buffer, static_cast<size_t>(n), max_size));
}

Result<std::vector<Datagram>> UdpSocket::receive_some(size_t max_size, size_t max_count) {
  max_size = std::min(max_size, kMaxReceivable);
  max_count = std::min(max_count, kMaxBatch);
  // Each slot one byte longer than max_size, so that an oversized datagram shows (as receive()).
  const size_t slot = max_size + 1;
  uint8_t buffers[kMaxBatch * (kMaxReceivable + 1)];
  std::array<sockaddr_in, kMaxBatch> from{};
  std::array<iovec, kMaxBatch> parts{};
  std::array<mmsghdr, kMaxBatch> messages{};
  for (size_t i = 0; i < max_count; ++i) {
    parts[i] = {buffers + i * slot, slot};
    messages[i].msg_hdr.msg_name = &from[i];
    messages[i].msg_hdr.msg_namelen = sizeof from[i];
    messages[i].msg_hdr.msg_iov = &parts[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  const int n = ::recvmmsg(fd_, messages.data(), static_cast<unsigned>(max_count),
                           MSG_DONTWAIT | MSG_TRUNC, nullptr);
  std::vector<Datagram> out;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return out;
    return errno_status("receiving datagrams");
  }
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    out.push_back(datagram_from(from[i], buffers + i * slot, messages[i].msg_len, max_size));
  }
  return out;
}

std::string Datagram::from_address() const {
  in_addr address{};
  address.s_addr = from_ip;
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address, text, sizeof text);
  return text;
}

}  // namespace sotto::net

#include <ifaddrs.h>

namespace sotto::net {

Result<std::string> interface_ipv4(const std::string& name) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return errno_status("listing network interfaces");
  std::string found;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
    if (name != it->ifa_name) continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(it->ifa_addr)->sin_addr, text, sizeof text);
    found = text;
    break;
  }
  freeifaddrs(list);
  if (found.empty()) return Status::not_found("interface " + name + " has no IPv4 address");
  return found;
}

}  // namespace sotto::net
