#include "sotto/net/poller.h"

#include <zmq.h>

#include <algorithm>
#include <cerrno>

#include "sotto/net/zmq_socket.h"

namespace sotto::net {

void Poller::add_socket(void* socket, Handler handler) {
  items_.push_back({socket, -1, std::move(handler), false});
}

void Poller::add_fd(int fd, Handler handler) {
  items_.push_back({nullptr, fd, std::move(handler), false});
}

void Poller::remove_socket(void* socket) {
  for (auto& item : items_) {
    if (item.socket == socket) item.removed = true;
  }
}

void Poller::remove_fd(int fd) {
  for (auto& item : items_) {
    if (item.socket == nullptr && item.fd == fd) item.removed = true;
  }
}

Result<int> Poller::poll(long timeout_ms) {
  items_.erase(
      std::remove_if(items_.begin(), items_.end(), [](const Item& i) { return i.removed; }),
      items_.end());
  std::vector<zmq_pollitem_t> poll_items(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    poll_items[i] = {items_[i].socket, items_[i].fd, ZMQ_POLLIN, 0};
  }
  int ready = zmq_poll(poll_items.data(), static_cast<int>(poll_items.size()), timeout_ms);
  if (ready < 0) {
    if (zmq_errno() == EINTR) return 0;
    return status_from_zmq(zmq_errno(), "polling");
  }
  // Handlers may append items; only those polled this round are dispatched, by index.
  const size_t polled = poll_items.size();
  for (size_t i = 0; i < polled && ready > 0; ++i) {
    if ((poll_items[i].revents & ZMQ_POLLIN) == 0) continue;
    if (items_[i].removed) continue;
    Handler handler = items_[i].handler;  // a copy: the handler may reshape items_
    handler();
  }
  return ready;
}

}  // namespace sotto::net
