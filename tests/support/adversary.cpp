#include "tests/support/adversary.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <thread>
#include <variant>

#include "sotto/net/beacon.h"
#include "src/core/account_internals.h"
#include "src/net/hello.h"
#include "src/net/wire.h"
#include "tests/support/profiles.h"

namespace sotto::test {

// --- the ZeroMQ wire --------------------------------------------------------------------------

std::optional<ZmtpGreeting> parse_zmtp_greeting(ByteView stream) {
  if (stream.size() < kZmtpGreetingSize || stream[0] != 0xff || stream[9] != 0x7f) {
    return std::nullopt;
  }
  ZmtpGreeting greeting;
  greeting.major = stream[10];
  greeting.minor = stream[11];
  const char* mechanism = reinterpret_cast<const char*>(stream.data() + 12);
  greeting.mechanism.assign(mechanism, strnlen(mechanism, 20));
  greeting.as_server = stream[32] != 0;
  return greeting;
}

std::vector<ZmtpFrame> zmtp_frames(ByteView stream) {
  std::vector<ZmtpFrame> frames;
  size_t at = kZmtpGreetingSize;
  while (at + 2 <= stream.size()) {
    ZmtpFrame frame;
    frame.flags = stream[at];
    uint64_t size = 0;
    size_t header = 2;
    if (frame.flags & 0x02) {
      header = 9;
      if (at + header > stream.size()) break;
      for (size_t i = 1; i < 9; ++i) size = size << 8 | stream[at + i];
    } else {
      size = stream[at + 1];
    }
    if (size > stream.size() - at - header) break;
    frame.body.assign(stream.begin() + static_cast<ptrdiff_t>(at + header),
                      stream.begin() + static_cast<ptrdiff_t>(at + header + size));
    frames.push_back(std::move(frame));
    at += header + size;
  }
  return frames;
}

Bytes zmtp3_greeting(const std::string& mechanism) {
  Bytes greeting(kZmtpGreetingSize, 0);
  greeting[0] = 0xff;
  greeting[9] = 0x7f;
  greeting[10] = 3;
  greeting[11] = 0;
  std::copy_n(mechanism.begin(), std::min<size_t>(mechanism.size(), 20), greeting.begin() + 12);
  return greeting;
}

Bytes zmtp2_greeting() {
  // Signature (FF, 8 bytes of length + 1, 7F), revision 1 (ZMTP 2.0), socket type 5 (DEALER),
  // then an empty identity frame: the whole handshake of that version.
  Bytes greeting = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x01, 0x05, 0x00, 0x00};
  return greeting;
}

Bytes zmtp1_greeting() {
  return Bytes{0x01, 0x00};  // length 1, flags 0: an anonymous identity
}

bool contains(ByteView haystack, ByteView needle) {
  if (needle.empty()) return true;
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

// --- misbehaving TCP clients ------------------------------------------------------------------

RawTcp::RawTcp(const std::string& host, uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  // Far above the descriptors the rest of the process uses: a thousand of these must not push
  // the in-process nodes' next descriptors past FD_SETSIZE (1024), where any select() left in a
  // library would overrun its fd_set.
  const int high = ::fcntl(fd_, F_DUPFD_CLOEXEC, 4096);
  if (high >= 0) {
    ::close(fd_);
    fd_ = high;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    closed_ = true;
  }
}

RawTcp::~RawTcp() {
  if (fd_ >= 0) ::close(fd_);
}

RawTcp::RawTcp(RawTcp&& other) noexcept
    : fd_(other.fd_), closed_(other.closed_), greeted_(other.greeted_) {
  other.fd_ = -1;
}

void RawTcp::send(ByteView data) {
  if (!data.empty()) (void)::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
}

bool RawTcp::closed() {
  while (!closed_) {
    uint8_t buffer[4096];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      greeted_ = true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    closed_ = true;  // EOF, or ECONNRESET / ECONNREFUSED
  }
  return closed_;
}

size_t wait_connected(std::vector<RawTcp>& connections, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  std::vector<bool> done(connections.size(), false);
  size_t connected = 0, settled = 0;
  while (settled < connections.size() && std::chrono::steady_clock::now() < end) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = 0; i < connections.size(); ++i) {
      if (done[i]) continue;
      fds.push_back({connections[i].fd(), POLLOUT, 0});
      index.push_back(i);
    }
    if (::poll(fds.data(), fds.size(), 20) < 0 && errno != EINTR) break;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      int error = 0;
      socklen_t size = sizeof error;
      ::getsockopt(fds[k].fd, SOL_SOCKET, SO_ERROR, &error, &size);
      done[index[k]] = true;
      ++settled;
      if (error == 0) ++connected;
    }
  }
  return connected;
}

size_t wait_accepted(std::vector<RawTcp>& connections, size_t first,
                     std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = first; i < connections.size(); ++i) {
      if (connections[i].accepted()) continue;
      fds.push_back({connections[i].fd(), POLLIN, 0});
      index.push_back(i);
    }
    if (fds.empty() || std::chrono::steady_clock::now() >= end) {
      return connections.size() - first - fds.size();
    }
    if (::poll(fds.data(), fds.size(), 20) < 0 && errno != EINTR) return 0;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents != 0) connections[index[k]].closed();
    }
  }
}

std::vector<std::optional<std::chrono::milliseconds>> wait_closed(
    std::vector<RawTcp>& connections, std::chrono::steady_clock::time_point since,
    std::chrono::milliseconds deadline) {
  std::vector<std::optional<std::chrono::milliseconds>> closed_after(connections.size());
  const auto end = std::chrono::steady_clock::now() + deadline;
  size_t open = connections.size();
  while (open > 0 && std::chrono::steady_clock::now() < end) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = 0; i < connections.size(); ++i) {
      if (closed_after[i]) continue;
      fds.push_back({connections[i].fd(), POLLIN, 0});
      index.push_back(i);
    }
    if (::poll(fds.data(), fds.size(), 20) < 0 && errno != EINTR) break;
    const auto now = std::chrono::steady_clock::now();
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0 || !connections[index[k]].closed()) continue;
      closed_after[index[k]] = std::chrono::duration_cast<std::chrono::milliseconds>(now - since);
      --open;
    }
  }
  return closed_after;
}

// --- an authenticated, hostile peer -----------------------------------------------------------

HostileInsider::HostileInsider(const std::string& name)
    : account_(create_account(tmp_ / "p", name)) {
  open_sockets();
}

HostileInsider::HostileInsider(std::unique_ptr<core::Account> account)
    : account_(std::move(account)) {
  if (!account_) throw std::runtime_error("HostileInsider: no account");
  open_sockets();
}

void HostileInsider::open_sockets() {
  auto bound = net::UdpSocket::bind("127.0.0.1", 0);
  if (!bound.is_ok()) throw std::runtime_error("insider UDP: " + bound.status().message());
  udp_ = std::move(bound).value();
  sockaddr_in addr{};
  socklen_t size = sizeof addr;
  ::getsockname(udp_.fd(), reinterpret_cast<sockaddr*>(&addr), &size);
  udp_port_ = ntohs(addr.sin_port);
  context_ = zmq_ctx_new();
  dealer_ = zmq_socket(context_, ZMQ_DEALER);
  const int linger = 0, unlimited = 0;
  zmq_setsockopt(dealer_, ZMQ_LINGER, &linger, sizeof linger);
  // The insider's own queue must not be what limits the flood.
  zmq_setsockopt(dealer_, ZMQ_SNDHWM, &unlimited, sizeof unlimited);
}

HostileInsider::~HostileInsider() {
  zmq_close(dealer_);
  zmq_ctx_term(context_);
}

void HostileInsider::announce_to(uint16_t port) {
  announce_claiming(port, account_->transport_public());
}

void HostileInsider::announce_claiming(uint16_t port, const Bytes& transport_key) {
  // The beacon names the port it is sent from: a node drops unicast beacons whose source port
  // differs from the announced one.
  net::Beacon beacon;
  beacon.port = udp_port_;
  beacon.transport_key = transport_key;
  auto signed_beacon = net::sign_beacon(beacon, core::AccountInternals::signal(*account_));
  if (!signed_beacon.is_ok()) throw std::runtime_error("signing the insider's beacon");
  send_datagram(port, net::encode_beacon(signed_beacon.value()));
}

void HostileInsider::connect(const std::string& endpoint, const Bytes& server_key) {
  const Bytes& public_key = account_->transport_public();
  const SecretBytes& secret_key = account_->transport_secret();
  zmq_setsockopt(dealer_, ZMQ_CURVE_SERVERKEY, server_key.data(), server_key.size());
  zmq_setsockopt(dealer_, ZMQ_CURVE_PUBLICKEY, public_key.data(), public_key.size());
  zmq_setsockopt(dealer_, ZMQ_CURVE_SECRETKEY, secret_key.view().data(), secret_key.size());
  if (zmq_connect(dealer_, endpoint.c_str()) != 0) {
    throw std::runtime_error("insider connect " + endpoint + ": " + zmq_strerror(zmq_errno()));
  }
  if (!send(hello_frame(*account_, server_key))) throw std::runtime_error("insider hello");
}

bool HostileInsider::send(ByteView frame) {
  return zmq_send(dealer_, frame.data(), frame.size(), ZMQ_DONTWAIT) >= 0;
}

void HostileInsider::send_datagram(uint16_t port, ByteView datagram) {
  Status sent = udp_.send_to("127.0.0.1", port, datagram);
  if (!sent.is_ok()) throw std::runtime_error("insider datagram: " + sent.message());
}

Bytes heartbeat_frame(uint64_t seq) {
  wire::Envelope envelope;
  envelope.mutable_heartbeat()->set_seq(seq);
  auto frame = net::encode_frame(std::move(envelope));
  if (!frame.is_ok()) throw std::runtime_error("encode_frame: " + frame.status().message());
  return std::move(frame).value();
}

Bytes hello_frame(core::Account& account, ByteView server_key, const std::string& name) {
  wire::Envelope envelope;
  wire::Hello* hello = envelope.mutable_hello();
  hello->set_name(name);
  hello->set_protocol_version(net::kProtocolVersion);
  hello->set_datagram_session(kInsiderDatagramSession);
  if (!net::sign_hello(*hello, core::AccountInternals::signal(account), account.transport_public(),
                       server_key)
           .is_ok()) {
    throw std::runtime_error("signing a hello");
  }
  auto frame = net::encode_frame(std::move(envelope));
  if (!frame.is_ok()) throw std::runtime_error("encode_frame: " + frame.status().message());
  return std::move(frame).value();
}

// --- what a well-behaved peer experiences meanwhile -----------------------------------------

struct DeliveryProbe::State {
  core::Node& from;
  std::string to;
  std::chrono::milliseconds interval;
  int watch_pid;
  std::shared_ptr<core::EventQueue> events;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> texts_sent{0};
  Figures figures;
  std::map<std::string, std::chrono::steady_clock::time_point> pending;  // id -> sent at
  std::thread thread;

  State(core::Node& f, std::string t, std::chrono::milliseconds i, int pid)
      : from(f), to(std::move(t)), interval(i), watch_pid(pid), events(f.subscribe()) {}

  void sample_memory() {
    if (watch_pid != 0) figures.peak_rss_kib = std::max(figures.peak_rss_kib, rss_kib(watch_pid));
  }

  // Takes the receipts that arrived within `wait`.
  void collect(std::chrono::milliseconds wait) {
    const auto end = std::chrono::steady_clock::now() + wait;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      auto event = events->wait_pop(std::max<int64_t>(0, left.count()));
      if (!event) return;
      const auto* receipt = std::get_if<core::ReceiptEvent>(&event->body);
      if (receipt == nullptr) continue;
      auto it = pending.find(receipt->id);
      if (it == pending.end()) continue;
      figures.latency_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - it->second)
              .count());
      pending.erase(it);
    }
  }

  void run() {
    auto next = std::chrono::steady_clock::now();
    while (!stopping) {
      const auto sent_at = std::chrono::steady_clock::now();
      auto sent = from.send_text(to, "probe " + std::to_string(figures.sent));
      ++figures.sent;
      ++texts_sent;
      if (sent.is_ok()) {
        pending[sent.value().id] = sent_at;
      } else if (figures.error.empty()) {
        figures.error = sent.status().message();
      }
      sample_memory();
      next += interval;
      collect(std::chrono::duration_cast<std::chrono::milliseconds>(std::max(
          next - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration{})));
    }
  }
};

DeliveryProbe::DeliveryProbe(core::Node& from, std::string to, std::chrono::milliseconds interval,
                             int watch_pid)
    : state_(std::make_unique<State>(from, std::move(to), interval, watch_pid)) {
  state_->thread = std::thread([this] { state_->run(); });
}

DeliveryProbe::~DeliveryProbe() {
  state_->stopping = true;
  if (state_->thread.joinable()) state_->thread.join();
}

size_t DeliveryProbe::sent() const {
  return state_->texts_sent;
}

DeliveryProbe::Figures DeliveryProbe::finish(std::chrono::milliseconds grace) {
  state_->stopping = true;
  if (state_->thread.joinable()) state_->thread.join();
  const auto end = std::chrono::steady_clock::now() + grace;
  while (!state_->pending.empty() && std::chrono::steady_clock::now() < end) {
    state_->collect(std::chrono::milliseconds(50));
  }
  state_->sample_memory();
  return state_->figures;
}

// --- figures --------------------------------------------------------------------------------

size_t open_fds(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return 0;
  size_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * values.size()));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

Bytes random_bytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

std::string unique_marker(const std::string& prefix) {
  std::random_device rd;
  std::string marker = prefix;
  for (int i = 0; i < 16; ++i) marker += "abcdefghijklmnopqrstuvwxyz"[rd() % 26];
  return marker;
}

}  // namespace sotto::test
