#include "sotto/net/poller.h"

#include <poll.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>

#include "sotto/net/zmq_socket.h"

namespace sotto::net {

void Poller::add_socket(void* socket, Handler handler) {
  int fd = -1;
  size_t size = sizeof fd;
  if (zmq_getsockopt(socket, ZMQ_FD, &fd, &size) != 0) fd = -1;
  items_.push_back({socket, fd, std::move(handler), false, true});
}

void Poller::add_fd(int fd, Handler handler) {
  items_.push_back({nullptr, fd, std::move(handler), false});
}

void Poller::remove_socket(void* socket) {
  for (auto& item : items_) {
    if (item.socket == socket) item.removed = true;
  }
}

void Poller::touched(void* socket) {
  for (auto& item : items_) {
    if (item.socket == socket) item.ask = true;
  }
}

void Poller::drained(void* socket) {
  for (auto& item : items_) {
    if (item.socket == socket) item.ask = false;
  }
}

void Poller::hold_fd(int fd, bool held) {
  for (auto& item : items_) {
    if (item.socket == nullptr && item.fd == fd) item.held = held;
  }
}

void Poller::remove_fd(int fd) {
  for (auto& item : items_) {
    if (item.socket == nullptr && item.fd == fd) item.removed = true;
  }
}

namespace {

// The socket's input, as ZMQ_EVENTS reports it; asking also clears the signal on its ZMQ_FD.
Result<bool> has_input(void* socket) {
  int events = 0;
  size_t size = sizeof events;
  if (zmq_getsockopt(socket, ZMQ_EVENTS, &events, &size) != 0) {
    return status_from_zmq(zmq_errno(), "polling");
  }
  return (events & ZMQ_POLLIN) != 0;
}

}  // namespace

// Asking costs two system calls per socket; a loop whose timer fires every voice frame would
// otherwise ask every socket (one per link) 50 times a second for nothing.
void Poller::sweep_if_due() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_sweep_ < kSweepInterval) return;
  last_sweep_ = now;
  for (auto& item : items_) item.ask = item.socket != nullptr;
}

Result<int> Poller::poll(long timeout_ms) {
  items_.erase(
      std::remove_if(items_.begin(), items_.end(), [](const Item& i) { return i.removed; }),
      items_.end());
  const size_t polled = items_.size();
  ready_.assign(polled, 0);
  int count = 0;
  for (size_t i = 0; i < polled; ++i) {
    Item& item = items_[i];
    if (item.socket == nullptr || !item.ask || item.held) continue;
    SOTTO_ASSIGN_OR_RETURN(bool input, has_input(item.socket));
    item.ask = input;
    if (input) {
      ready_[i] = 1;
      ++count;
    }
  }
  fds_.clear();
  owner_.clear();
  for (size_t i = 0; i < polled; ++i) {
    if (items_[i].fd < 0 || ready_[i] || items_[i].held) continue;
    fds_.push_back({items_[i].fd, POLLIN, 0});
    owner_.push_back(i);
  }
  const int waited = ::poll(fds_.data(), fds_.size(), count > 0 ? 0 : static_cast<int>(timeout_ms));
  if (note_wakes_) woke_at_ = std::chrono::steady_clock::now();
  if (waited < 0 && errno != EINTR) return status_from_zmq(errno, "polling");
  if (waited == 0 && count == 0) sweep_if_due();
  for (size_t k = 0; waited > 0 && k < fds_.size(); ++k) {
    if (fds_[k].revents == 0) continue;
    Item& item = items_[owner_[k]];
    if (item.socket != nullptr) {
      SOTTO_ASSIGN_OR_RETURN(bool input, has_input(item.socket));
      if (!input) continue;
      item.ask = true;
    }
    ready_[owner_[k]] = 1;
    ++count;
  }
  // Handlers may append items; only those polled this round are dispatched, by index.
  for (size_t i = 0; i < polled; ++i) {
    if (!ready_[i] || items_[i].removed) continue;
    Handler handler = items_[i].handler;  // a copy: the handler may reshape items_
    handler();
  }
  return count;
}

}  // namespace sotto::net
