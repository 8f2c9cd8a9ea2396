#include "src/core/node_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace sotto::core {

Result<std::unique_ptr<NodeLoop>> NodeLoop::create(net::Poller& poller) {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return Status::io_error("creating wake-up fd");
  return std::unique_ptr<NodeLoop>(new NodeLoop(poller, fd));
}

NodeLoop::NodeLoop(net::Poller& poller, int wake_fd) : poller_(poller), wake_fd_(wake_fd) {
  poller_.add_fd(wake_fd_, [this] {
    uint64_t value = 0;
    (void)!::read(wake_fd_, &value, sizeof value);
  });
}

NodeLoop::~NodeLoop() {
  stop();
  (void)join();
  poller_.remove_fd(wake_fd_);
  ::close(wake_fd_);
}

void NodeLoop::start(std::function<Status()> round, std::function<void()> on_end) {
  thread_ = std::thread(
      [this, round = std::move(round), on_end = std::move(on_end)] { body(round, on_end); });
}

void NodeLoop::body(const std::function<Status()>& round, const std::function<void()>& on_end) {
  loop_thread_ = std::this_thread::get_id();
  while (!stop_requested_.load()) {
    run_tasks();
    Status ran = round();
    if (!ran.is_ok()) {
      status_ = std::move(ran);
      break;
    }
  }
  stop_requested_ = true;  // also after a failed round: calls are refused as stopped
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    closed_ = true;
  }
  run_tasks();  // nobody waits in vain on a call queued while the loop was ending
  if (on_end) on_end();
  loop_thread_ = std::thread::id();
}

void NodeLoop::stop() {
  stop_requested_ = true;
  wake();
}

Status NodeLoop::join() {
  std::lock_guard<std::mutex> lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
  return status_;
}

void NodeLoop::wake() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

bool NodeLoop::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    if (closed_) return false;
    tasks_.push_back(std::move(task));
  }
  wake();
  return true;
}

void NodeLoop::run_tasks() {
  std::unique_lock<std::mutex> lock(tasks_mutex_);
  // Most rounds find none, and a deque allocates even empty: on air that was two allocations
  // and two frees every frame.
  if (tasks_.empty()) return;
  std::deque<std::function<void()>> pending;
  pending.swap(tasks_);
  lock.unlock();
  for (auto& task : pending) task();
}

}  // namespace sotto::core
