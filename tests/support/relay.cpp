#include "tests/support/relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace sotto::test {
namespace {

sockaddr_in address_of(const char* host, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host, &addr.sin_addr);
  return addr;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// A socket of `type` bound to host:port, or -1.
int bound_socket(int type, const char* host, uint16_t port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in addr = address_of(host, port);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      (type == SOCK_STREAM && ::listen(fd, 16) != 0)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

struct LoopbackRelay::Impl {
  struct Mirror {
    int listen_fd = -1;
    int udp_fd = -1;
  };
  // fd[0]: the connecting node's side (accepted); fd[1]: the mirrored node (127.0.0.1:port).
  // Direction i copies fd[i] -> fd[1 - i]; direction 0 goes towards the mirrored node.
  struct Connection {
    uint16_t port = 0;
    int fd[2] = {-1, -1};
    std::string pending[2];
    size_t transcript[2] = {0, 0};
    bool closed = false;
  };

  mutable std::mutex mutex;
  std::map<uint16_t, Mirror> mirrors;
  std::vector<Connection> connections;
  std::set<uint16_t> held;
  std::vector<Bytes> transcripts;
  uint64_t tcp_bytes = 0;
  uint64_t datagrams = 0;
  int wake[2] = {-1, -1};
  bool stopping = false;
  std::thread thread;

  // REQUIRES: mutex held.
  bool add_mirror(uint16_t port) {
    if (mirrors.count(port)) return true;
    Mirror m;
    m.listen_fd = bound_socket(SOCK_STREAM, kMirrorAddress, port);
    m.udp_fd = bound_socket(SOCK_DGRAM, kMirrorAddress, port);
    if (m.listen_fd < 0 || m.udp_fd < 0) {
      if (m.listen_fd >= 0) ::close(m.listen_fd);
      if (m.udp_fd >= 0) ::close(m.udp_fd);
      return false;
    }
    mirrors[port] = m;
    return true;
  }

  void poke() { (void)!::write(wake[1], "x", 1); }

  // REQUIRES: mutex held.
  void accept_on(uint16_t port, int listen_fd) {
    const int client = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) return;
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in addr = address_of("127.0.0.1", port);
    if (upstream < 0 ||
        ::connect(upstream, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      if (upstream >= 0) ::close(upstream);
      ::close(client);  // the node is down: the connecting side sees a reset, as without us
      return;
    }
    set_nonblocking(upstream);
    Connection c;
    c.port = port;
    c.fd[0] = client;
    c.fd[1] = upstream;
    for (int i = 0; i < 2; ++i) {
      c.transcript[i] = transcripts.size();
      transcripts.emplace_back();
    }
    connections.push_back(std::move(c));
  }

  // REQUIRES: mutex held.
  void forward_datagram(uint16_t to_port, int fd) {
    uint8_t buffer[65536];
    sockaddr_in from{};
    socklen_t from_size = sizeof from;
    const ssize_t n =
        ::recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n < 0) return;
    char host[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &from.sin_addr, host, sizeof host);
    if (std::strcmp(host, "127.0.0.1") != 0) return;
    const uint16_t from_port = ntohs(from.sin_port);
    if (!add_mirror(from_port)) return;
    ++datagrams;
    transcripts.emplace_back(buffer, buffer + n);
    const sockaddr_in to = address_of("127.0.0.1", to_port);
    (void)::sendto(mirrors[from_port].udp_fd, buffer, static_cast<size_t>(n), 0,
                   reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }

  // REQUIRES: mutex held.
  void close_connection(Connection& c) {
    for (int& fd : c.fd) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    c.closed = true;
  }

  void run() {
    for (;;) {
      std::vector<pollfd> fds;
      std::vector<std::function<void(short)>> handlers;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (stopping) return;
        connections.erase(std::remove_if(connections.begin(), connections.end(),
                                         [](const Connection& c) { return c.closed; }),
                          connections.end());
        fds.push_back({wake[0], POLLIN, 0});
        handlers.push_back([this](short) {
          char drain[64];
          (void)!::read(wake[0], drain, sizeof drain);
        });
        for (auto& [port, m] : mirrors) {
          const uint16_t p = port;
          const int listen_fd = m.listen_fd, udp_fd = m.udp_fd;
          fds.push_back({listen_fd, POLLIN, 0});
          handlers.push_back([this, p, listen_fd](short) { accept_on(p, listen_fd); });
          fds.push_back({udp_fd, POLLIN, 0});
          handlers.push_back([this, p, udp_fd](short) { forward_datagram(p, udp_fd); });
        }
        for (size_t k = 0; k < connections.size(); ++k) {
          Connection& c = connections[k];
          short events[2] = {0, 0};
          for (int i = 0; i < 2; ++i) {
            if (!c.pending[i].empty()) {
              events[1 - i] |= POLLOUT;  // backpressure: read more only once this is written
            } else if (!(i == 0 && held.count(c.port))) {
              events[i] |= POLLIN;
            }
          }
          for (int side = 0; side < 2; ++side) {
            fds.push_back({c.fd[side], events[side], 0});
            handlers.push_back([this, k, side](short revents) { on_socket(k, side, revents); });
          }
        }
      }
      if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
      std::lock_guard<std::mutex> lock(mutex);
      if (stopping) return;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents != 0) handlers[i](fds[i].revents);
      }
    }
  }

  // REQUIRES: mutex held.
  void on_socket(size_t k, int side, short revents) {
    if (k >= connections.size()) return;
    Connection& c = connections[k];
    if (c.closed) return;
    if (revents & POLLOUT) {
      std::string& out = c.pending[1 - side];  // data read from the other side, for this one
      const ssize_t n = ::send(c.fd[side], out.data(), out.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return close_connection(c);
      if (n > 0) out.erase(0, static_cast<size_t>(n));
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!c.pending[side].empty() && !(revents & (POLLHUP | POLLERR))) return;
      char buffer[65536];
      const ssize_t n = ::recv(c.fd[side], buffer, sizeof buffer, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return close_connection(c);
      if (n > 0) {
        c.pending[side].append(buffer, static_cast<size_t>(n));
        Bytes& transcript = transcripts[c.transcript[side]];
        transcript.insert(transcript.end(), buffer, buffer + n);
        tcp_bytes += static_cast<uint64_t>(n);
      }
    }
  }
};

LoopbackRelay::LoopbackRelay(const std::vector<uint16_t>& ports) : impl_(std::make_unique<Impl>()) {
  if (::pipe2(impl_->wake, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe failed");
  for (uint16_t port : ports) mirror(port);
  impl_->thread = std::thread([this] { impl_->run(); });
}

LoopbackRelay::~LoopbackRelay() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->poke();
  if (impl_->thread.joinable()) impl_->thread.join();
  for (auto& c : impl_->connections) impl_->close_connection(c);
  for (auto& [port, m] : impl_->mirrors) {
    ::close(m.listen_fd);
    ::close(m.udp_fd);
  }
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

void LoopbackRelay::mirror(uint16_t port) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (!impl_->add_mirror(port)) {
      throw std::runtime_error("LoopbackRelay: cannot bind " + std::string(kMirrorAddress) + ":" +
                               std::to_string(port) + ": " + std::strerror(errno));
    }
  }
  impl_->poke();
}

std::string LoopbackRelay::endpoint_of(uint16_t port) {
  return "tcp://" + std::string(kMirrorAddress) + ":" + std::to_string(port);
}

void LoopbackRelay::hold_towards(uint16_t port) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->held.insert(port);
  }
  impl_->poke();
}

void LoopbackRelay::release(uint16_t port) {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->held.erase(port);
  }
  impl_->poke();
}

std::vector<Bytes> LoopbackRelay::transcripts() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->transcripts;
}

bool LoopbackRelay::saw(const std::string& needle) const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (const Bytes& t : impl_->transcripts) {
    if (std::search(t.begin(), t.end(), needle.begin(), needle.end()) != t.end()) return true;
  }
  return false;
}

uint64_t LoopbackRelay::tcp_bytes() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->tcp_bytes;
}

uint64_t LoopbackRelay::datagrams() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->datagrams;
}

}  // namespace sotto::test
