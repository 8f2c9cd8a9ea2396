#include "sotto/net/poller.h"

#include <sys/epoll.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "sotto/net/zmq_socket.h"

namespace sotto::net {

Poller::Poller() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (epoll_fd_ < 0) epoll_errno_ = errno;
}

Poller::~Poller() {
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void Poller::add(Item item) {
  item.id = next_id_++;
  items_.push_back(std::move(item));
  watch(items_.back(), true);
}

// In or out of the epoll set. Leaving it is done at once (not at the next poll): the owner may
// close the descriptor next, and a new one can take its number.
void Poller::watch(Item& item, bool on) {
  if (item.fd < 0 || epoll_fd_ < 0 || item.watched == on) return;
  if (on) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = item.id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, item.fd, &event) != 0) {
      epoll_errno_ = errno;
      return;
    }
  } else {
    // Fails only when the descriptor was closed first, which left the set by itself.
    (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, item.fd, nullptr);
  }
  item.watched = on;
}

Poller::Item* Poller::find(uint64_t id) {
  auto it = std::lower_bound(items_.begin(), items_.end(), id,
                             [](const Item& item, uint64_t wanted) { return item.id < wanted; });
  return it != items_.end() && it->id == id ? &*it : nullptr;
}

void Poller::add_socket(void* socket, Handler handler) {
  int fd = -1;
  size_t size = sizeof fd;
  if (zmq_getsockopt(socket, ZMQ_FD, &fd, &size) != 0) fd = -1;
  add({.socket = socket, .fd = fd, .handler = std::move(handler)});
}

void Poller::add_fd(int fd, Handler handler) {
  add({.fd = fd, .handler = std::move(handler), .ask = false});
}

void Poller::remove_socket(void* socket) {
  for (auto& item : items_) {
    if (item.socket != socket) continue;
    watch(item, false);
    item.removed = true;
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
    if (item.socket != nullptr || item.fd != fd || item.removed) continue;
    item.held = held;
    watch(item, !held);
  }
}

void Poller::remove_fd(int fd) {
  for (auto& item : items_) {
    if (item.socket != nullptr || item.fd != fd) continue;
    watch(item, false);
    item.removed = true;
  }
}

namespace {

// The socket's input, as ZMQ_EVENTS reports it; asking also clears the signal on its ZMQ_FD.
Result<bool> has_input(void* socket) {
  SOTTO_ASSIGN_OR_RETURN(int events, zmq_events(socket));
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
  if (epoll_errno_ != 0) {
    const int error = std::exchange(epoll_errno_, 0);
    return Status::io_error(std::string("cannot wait on the node's sockets: ") +
                            std::strerror(error));
  }
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
  epoll_event events[kMaxEventsPerWait];
  const int waited = ::epoll_wait(epoll_fd_, events, kMaxEventsPerWait,
                                  count > 0 ? 0 : static_cast<int>(timeout_ms));
  if (note_wakes_) woke_at_ = std::chrono::steady_clock::now();
  if (waited < 0 && errno != EINTR) return status_from_zmq(errno, "polling");
  if (waited == 0 && count == 0) sweep_if_due();
  for (int k = 0; k < waited; ++k) {
    Item* item = find(events[k].data.u64);
    if (item == nullptr) continue;
    // Items added or held since the wait cannot be here: handlers run after this loop.
    const auto i = static_cast<size_t>(item - items_.data());
    if (ready_[i]) continue;
    if (item->socket != nullptr) {
      SOTTO_ASSIGN_OR_RETURN(bool input, has_input(item->socket));
      if (!input) continue;
      item->ask = true;
    }
    ready_[i] = 1;
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
