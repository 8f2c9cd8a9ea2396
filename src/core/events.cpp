#include "sotto/core/events.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>

namespace sotto::core {

EventQueue::EventQueue() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

EventQueue::~EventQueue() {
  if (fd_ >= 0) close(fd_);
}

void EventQueue::push(Event event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (events_.size() >= kCapacity) {
      events_.pop_front();
      ++dropped_;
    }
    events_.push_back(std::move(event));
  }
  ready_.notify_one();
  const uint64_t one = 1;
  (void)!write(fd_, &one, sizeof one);
}

std::optional<Event> EventQueue::pop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (events_.empty()) {
    uint64_t count = 0;
    (void)!read(fd_, &count, sizeof count);  // reset readiness
    return std::nullopt;
  }
  Event event = std::move(events_.front());
  events_.pop_front();
  return event;
}

std::optional<Event> EventQueue::wait_pop(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ready_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                       [this] { return !events_.empty(); })) {
    return std::nullopt;
  }
  Event event = std::move(events_.front());
  events_.pop_front();
  return event;
}

uint64_t EventQueue::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

}  // namespace sotto::core
