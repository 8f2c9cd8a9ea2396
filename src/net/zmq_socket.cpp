#include "sotto/net/zmq_socket.h"

#include <zmq.h>

#include <cerrno>
#include <memory>

#include "sotto/base/secret.h"

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer's runtime (there is no public header for these two).
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif

namespace sotto::net {

namespace {

// libzmq's I/O thread fills a received message and hands it over through lock-free pipes whose
// atomics ThreadSanitizer cannot see (Debian's libzmq is not instrumented). Under TSan the copy out
// of it is therefore not checked: otherwise every message costs a race report that a suppression
// then throws away, slow enough to make a node under TSan fall behind its peers for good.
// `wipe_after`: the message's bytes are overwritten once copied, where libzmq put them.
Bytes copy_out_of_zmq(uint8_t* data, size_t size, bool wipe_after) {
#if defined(__SANITIZE_THREAD__)
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
  AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
#endif
  Bytes copy(data, data + size);
  if (wipe_after) wipe(data, size);
#if defined(__SANITIZE_THREAD__)
  AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#endif
  return copy;
}

void delete_secret(void* /*data*/, void* hint) {
  delete static_cast<SecretBytes*>(hint);
}

}  // namespace

Result<int> zmq_events(void* socket) {
  int events = 0;
  size_t size = sizeof events;
  if (zmq_getsockopt(socket, ZMQ_EVENTS, &events, &size) != 0) {
    return status_from_zmq(zmq_errno(), "asking a socket's events");
  }
  return events;
}

Status status_from_zmq(int err, const std::string& what) {
  std::string message = what + ": " + zmq_strerror(err);
  switch (err) {
    case EAGAIN:
      return Status::unavailable(message);
    case EADDRINUSE:
      return Status::busy(message);
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
      return Status::invalid_argument(message);
    case EACCES:
      return Status::permission_denied(message);
    case EHOSTUNREACH:
    case ETERM:
    case ENOTSOCK:
      return Status::unavailable(message);
    default:
      return Status::io_error(message);
  }
}

ZmqContext::ZmqContext() : ctx_(zmq_ctx_new()) {
  // No blocking on close: unsent messages to vanished peers must not hold up shutdown.
  zmq_ctx_set(ctx_, ZMQ_BLOCKY, 0);
  // A link costs three sockets (the DEALER, its monitor's two ends): libzmq's default of 1023
  // would stop a node at ~330 contacts and co-members, short of a channel of 250 plus the rest.
  zmq_ctx_set(ctx_, ZMQ_MAX_SOCKETS, kMaxSockets);
}

ZmqContext::~ZmqContext() {
  if (ctx_ != nullptr) zmq_ctx_term(ctx_);
}

Result<ZmqSocket> ZmqSocket::create(ZmqContext& ctx, int type) {
  void* socket = zmq_socket(ctx.get(), type);
  if (socket == nullptr) return status_from_zmq(zmq_errno(), "creating socket");
  ZmqSocket out(socket);
  SOTTO_RETURN_IF_ERROR(out.set(ZMQ_LINGER, 0));
  return out;
}

void ZmqSocket::close() {
  if (socket_ != nullptr) zmq_close(std::exchange(socket_, nullptr));
}

Result<ZmqMonitor> ZmqMonitor::open(ZmqContext& ctx, ZmqSocket& watched,
                                    const std::string& endpoint, int events) {
  if (zmq_socket_monitor(watched.get(), endpoint.c_str(), events) != 0) {
    return status_from_zmq(zmq_errno(), "monitoring socket");
  }
  ZmqMonitor monitor;
  monitor.watched_ = watched.get();
  SOTTO_ASSIGN_OR_RETURN(monitor.pair_, ZmqSocket::create(ctx, ZMQ_PAIR));
  SOTTO_RETURN_IF_ERROR(monitor.pair_.connect(endpoint));
  return monitor;
}

void ZmqMonitor::stop() {
  if (watched_ != nullptr) zmq_socket_monitor(std::exchange(watched_, nullptr), nullptr, 0);
  pair_.close();
}

Status ZmqSocket::set(int option, int value) {
  if (zmq_setsockopt(socket_, option, &value, sizeof value) != 0) {
    return status_from_zmq(zmq_errno(), "setting socket option " + std::to_string(option));
  }
  return Status::ok();
}

Status ZmqSocket::set(int option, int64_t value) {
  if (zmq_setsockopt(socket_, option, &value, sizeof value) != 0) {
    return status_from_zmq(zmq_errno(), "setting socket option " + std::to_string(option));
  }
  return Status::ok();
}

Status ZmqSocket::set(int option, ByteView value) {
  if (zmq_setsockopt(socket_, option, value.data(), value.size()) != 0) {
    return status_from_zmq(zmq_errno(), "setting socket option " + std::to_string(option));
  }
  return Status::ok();
}

Status ZmqSocket::set(int option, const std::string& value) {
  return set(option, as_bytes(value));
}

Result<std::string> ZmqSocket::get_string(int option) const {
  char buffer[256];
  size_t size = sizeof buffer;
  if (zmq_getsockopt(socket_, option, buffer, &size) != 0) {
    return status_from_zmq(zmq_errno(), "reading socket option");
  }
  return std::string(buffer, size > 0 && buffer[size - 1] == '\0' ? size - 1 : size);
}

Status ZmqSocket::bind(const std::string& endpoint) {
  if (zmq_bind(socket_, endpoint.c_str()) != 0) {
    return status_from_zmq(zmq_errno(), "binding " + endpoint);
  }
  return Status::ok();
}

Status ZmqSocket::unbind(const std::string& endpoint) {
  if (zmq_unbind(socket_, endpoint.c_str()) != 0) {
    return status_from_zmq(zmq_errno(), "unbinding " + endpoint);
  }
  return Status::ok();
}

Status ZmqSocket::connect(const std::string& endpoint) {
  if (zmq_connect(socket_, endpoint.c_str()) != 0) {
    return status_from_zmq(zmq_errno(), "connecting " + endpoint);
  }
  return Status::ok();
}

Status ZmqSocket::send(const std::vector<ByteView>& parts) {
  for (size_t i = 0; i < parts.size(); ++i) {
    const int flags = ZMQ_DONTWAIT | (i + 1 < parts.size() ? ZMQ_SNDMORE : 0);
    if (zmq_send(socket_, parts[i].data(), parts[i].size(), flags) >= 0) continue;
    const int err = zmq_errno();
    // A send looks at what the peer has read at most once a millisecond (ZeroMQ's command
    // throttle), so to a fast sender a link whose reader keeps up looks full. ZMQ_EVENTS
    // catches up on it unthrottled: only a link still full after that refuses the frame. Only
    // the first part can be refused; ZeroMQ takes the rest of a message once it took that.
    if (i == 0 && err == EAGAIN && writable() &&
        zmq_send(socket_, parts[i].data(), parts[i].size(), flags) >= 0) {
      continue;
    }
    return status_from_zmq(err, "sending");
  }
  return Status::ok();
}

bool ZmqSocket::writable() {
  const Result<int> events = zmq_events(socket_);
  return events.is_ok() && (events.value() & ZMQ_POLLOUT) != 0;
}

Status ZmqSocket::send_secret(ByteView secret) {
  // libzmq sends from this copy without one of its own, and frees it (wiped, being
  // SecretBytes) through delete_secret once the message is gone.
  auto copy = std::make_unique<SecretBytes>(SecretBytes::copy_of(secret));
  zmq_msg_t msg;
  if (zmq_msg_init_data(&msg, copy->data(), copy->size(), delete_secret, copy.get()) != 0) {
    return status_from_zmq(zmq_errno(), "sending");
  }
  copy.release();  // the message owns it now
  if (zmq_msg_send(&msg, socket_, ZMQ_DONTWAIT) < 0) {
    const int err = zmq_errno();
    zmq_msg_close(&msg);
    return status_from_zmq(err, "sending");
  }
  return Status::ok();
}

Result<std::optional<ZmqPart>> ZmqSocket::receive() {
  zmq_msg_t msg;
  zmq_msg_init(&msg);
  if (zmq_msg_recv(&msg, socket_, ZMQ_DONTWAIT) < 0) {
    int err = zmq_errno();
    zmq_msg_close(&msg);
    if (err == EAGAIN) return std::optional<ZmqPart>();
    return status_from_zmq(err, "receiving");
  }
  ZmqPart part;
  // A shared message's bytes belong to other receivers as well (zmq_msg_copy).
  const bool wipe_after = wipe_received_ && zmq_msg_get(&msg, ZMQ_SHARED) == 0;
  part.data =
      copy_out_of_zmq(static_cast<uint8_t*>(zmq_msg_data(&msg)), zmq_msg_size(&msg), wipe_after);
  part.more = zmq_msg_more(&msg) != 0;
  if (const char* user = zmq_msg_gets(&msg, "User-Id"); user != nullptr) part.user_id = user;
  zmq_msg_close(&msg);
  return std::optional<ZmqPart>(std::move(part));
}

Result<std::optional<std::vector<ZmqPart>>> ZmqSocket::receive_message(size_t max_parts) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<ZmqPart> first, receive());
  if (!first) return std::optional<std::vector<ZmqPart>>();
  std::vector<ZmqPart> parts;
  bool more = first->more;
  parts.push_back(std::move(*first));
  bool oversized = false;
  // The rest of a multipart message is already here once its first part is (zmq is atomic).
  while (more) {
    SOTTO_ASSIGN_OR_RETURN(std::optional<ZmqPart> next, receive());
    if (!next) break;
    more = next->more;
    if (parts.size() < max_parts) {
      parts.push_back(std::move(*next));
    } else {
      oversized = true;
    }
  }
  if (oversized) return Status::corruption("message has too many parts");
  return std::optional<std::vector<ZmqPart>>(std::move(parts));
}

}  // namespace sotto::net
