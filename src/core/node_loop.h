// NodeLoop: the node's one thread, and the queue through which every other thread reaches it.
// A call from another thread is always posted to the loop, never run on the caller's thread;
// a call made on the loop's own thread runs at once (waiting for itself would never end).
// After the loop has ended, posting fails: a call is then refused, not run.
// Thread-safety: post, call, stop and on_loop_thread from any thread (stop also from a signal
// handler); start and join from the owner's.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "sotto/base/status.h"
#include "sotto/net/poller.h"

namespace sotto::core {

class NodeLoop {
 public:
  // Registers a wake-up fd with `poller`, so that a posted task or stop() ends the round's wait.
  // REQUIRES: `poller` outlives the loop.
  static Result<std::unique_ptr<NodeLoop>> create(net::Poller& poller);
  // Stops and joins the thread if it still runs.
  ~NodeLoop();
  NodeLoop(const NodeLoop&) = delete;
  NodeLoop& operator=(const NodeLoop&) = delete;

  // Starts the thread: the queued tasks, then one `round` (which polls), over and over until
  // stop() or a round fails. Once.
  // `on_end` runs on the loop thread after the last task: what it leaves unanswered, nobody
  // would ever answer.
  void start(std::function<Status()> round, std::function<void()> on_end = {});
  // Ends the loop after its current round. Async-signal-safe.
  void stop();
  // Blocks until the thread has ended; the failed round's status, else ok.
  Status join();

  bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_.load(); }
  // Asked to stop, or ended: why a call went unanswered, when it did.
  bool stopping() const { return stop_requested_.load(); }
  // Queues `task` for the loop without waiting; false (the task dropped) once the loop ended.
  bool post(std::function<void()> task);
  // Ends the round's wait at once (another thread has something for the loop, e.g. a captured
  // frame); the loop finds what it is by itself.
  void wake();
  // Runs `fn` on the loop and waits up to `timeout` for its value; nullopt when the loop ended
  // first or the time ran out (the task may still run later: it must own what it uses).
  template <typename T>
  std::optional<T> call(std::function<T()> fn, std::chrono::milliseconds timeout);

 private:
  NodeLoop(net::Poller& poller, int wake_fd);
  void run_tasks();
  void body(const std::function<Status()>& round, const std::function<void()>& on_end);

  net::Poller& poller_;
  const int wake_fd_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::thread::id> loop_thread_;
  std::mutex tasks_mutex_;
  std::deque<std::function<void()>> tasks_;  // GUARDED_BY(tasks_mutex_)
  bool closed_ = false;                      // GUARDED_BY(tasks_mutex_)
  std::mutex join_mutex_;
  std::thread thread_;
  Status status_;  // written by the thread before it ends; read after join
};

template <typename T>
std::optional<T> NodeLoop::call(std::function<T()> fn, std::chrono::milliseconds timeout) {
  if (on_loop_thread()) return fn();
  auto task = std::make_shared<std::packaged_task<T()>>(std::move(fn));
  std::future<T> result = task->get_future();
  if (!post([task] { (*task)(); })) return std::nullopt;
  if (result.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return result.get();
}

}  // namespace sotto::core
