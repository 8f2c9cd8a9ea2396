// Small move-only RAII owners for libzmq handles, and the one place zmq errors become Status.
// Thread-safety: a ZmqContext may be shared; a ZmqSocket belongs to one thread (zmq's rule).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::net {

Status status_from_zmq(int err, const std::string& what);
// The socket's ZMQ_EVENTS (ZMQ_POLLIN, ZMQ_POLLOUT). Asking processes the socket's pending
// commands, unthrottled, and clears the signal on its ZMQ_FD.
Result<int> zmq_events(void* socket);

class ZmqContext {
 public:
  static constexpr int kMaxSockets = 8192;
  ZmqContext();
  ~ZmqContext();
  ZmqContext(const ZmqContext&) = delete;
  ZmqContext& operator=(const ZmqContext&) = delete;
  void* get() const { return ctx_; }

 private:
  void* ctx_ = nullptr;
};

// One message part as received, with the ZAP user id when the socket authenticates peers.
struct ZmqPart {
  Bytes data;
  std::string user_id;  // "User-Id" metadata set by our ZAP handler; empty otherwise
  bool more = false;
};

class ZmqSocket {
 public:
  ZmqSocket() = default;
  static Result<ZmqSocket> create(ZmqContext& ctx, int type);
  ~ZmqSocket() { close(); }
  ZmqSocket(ZmqSocket&& other) noexcept
      : socket_(std::exchange(other.socket_, nullptr)), wipe_received_(other.wipe_received_) {}
  ZmqSocket& operator=(ZmqSocket&& other) noexcept {
    if (this != &other) {
      close();
      socket_ = std::exchange(other.socket_, nullptr);
      wipe_received_ = other.wipe_received_;
    }
    return *this;
  }
  ZmqSocket(const ZmqSocket&) = delete;
  ZmqSocket& operator=(const ZmqSocket&) = delete;

  void* get() const { return socket_; }
  explicit operator bool() const { return socket_ != nullptr; }
  void close();

  Status set(int option, int value);
  Status set(int option, int64_t value);
  Status set(int option, ByteView value);
  Status set(int option, const std::string& value);
  Result<std::string> get_string(int option) const;

  Status bind(const std::string& endpoint);
  // At once: close() leaves an inproc name bound until libzmq's reaper thread has taken the
  // socket, and a socket made meanwhile could not bind it.
  Status unbind(const std::string& endpoint);
  Status connect(const std::string& endpoint);

  // Sends a multipart message without blocking. nullopt-like: Unavailable when the queue is
  // full (would block), the frames are then dropped. Full means full once ZeroMQ has caught up
  // on what the peer read (see the .cpp), not merely within its once-a-millisecond look. Like
  // any use of a polled socket outside its handler, it can take the socket's input signal:
  // tell the Poller (touched()).
  Status send(const std::vector<ByteView>& parts);
  // Sends one part that holds a secret (an unlock request) without blocking. Where send() leaves
  // a copy in memory libzmq frees unwiped, this one is wiped once sent. libzmq's stream encoder
  // still copies a message shorter than its 8 KiB batch into its own buffer; that buffer is
  // overwritten by the next messages and freed, unwiped, with the socket.
  Status send_secret(ByteView secret);
  // For a socket that receives secrets: each message is overwritten inside libzmq (its receive
  // buffer) as soon as receive() has copied it out. The copy is the caller's to wipe.
  void wipe_received() { wipe_received_ = true; }
  // Receives one part without blocking; nullopt when none is waiting.
  Result<std::optional<ZmqPart>> receive();
  // Receives a whole multipart message without blocking; nullopt when none is waiting.
  // Parts beyond `max_parts` are read and discarded, and the message reported as oversized.
  Result<std::optional<std::vector<ZmqPart>>> receive_message(size_t max_parts = 4);

 private:
  explicit ZmqSocket(void* socket) : socket_(socket) {}
  // Whether a send would be taken now, once the socket's pending commands are processed.
  bool writable();
  void* socket_ = nullptr;
  bool wipe_received_ = false;
};

// The events of a watched socket (zmq_socket_monitor), read from a PAIR socket of our own.
// libzmq 4.3 sends monitor events from its I/O thread with a blocking send: were the PAIR closed
// while the watched socket still emits events (a link torn down mid-handshake), that thread
// would wait forever for a reader, and every socket of the context would stall with it. So the
// monitor is stopped on the watched socket first, which must therefore outlive this object.
class ZmqMonitor {
 public:
  ZmqMonitor() = default;
  static Result<ZmqMonitor> open(ZmqContext& ctx, ZmqSocket& watched, const std::string& endpoint,
                                 int events);
  ~ZmqMonitor() { stop(); }
  ZmqMonitor(ZmqMonitor&& other) noexcept
      : watched_(std::exchange(other.watched_, nullptr)), pair_(std::move(other.pair_)) {}
  ZmqMonitor& operator=(ZmqMonitor&& other) noexcept {
    if (this != &other) {
      stop();
      watched_ = std::exchange(other.watched_, nullptr);
      pair_ = std::move(other.pair_);
    }
    return *this;
  }
  ZmqMonitor(const ZmqMonitor&) = delete;
  ZmqMonitor& operator=(const ZmqMonitor&) = delete;

  ZmqSocket& events() { return pair_; }
  void* get() const { return pair_.get(); }
  // Stops the monitor on the watched socket, then closes the PAIR.
  void stop();

 private:
  void* watched_ = nullptr;
  ZmqSocket pair_;
};

}  // namespace sotto::net
