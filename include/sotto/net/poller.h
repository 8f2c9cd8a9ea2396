// Poller: one wait over ZeroMQ sockets and plain file descriptors, each with a handler.
//
// The node's event loop owns one Poller; every socket it serves registers here. Handlers may add
// or remove items (removals take effect before the next poll). Level-triggered: a handler that
// leaves input unread is called again on the next poll.
//
// Not zmq_poll: it asks every socket for its state on every call, and asking an idle ZeroMQ
// socket costs two system calls (a getpid for fork detection and a poll of its mailbox). A
// socket's ZMQ_FD becomes readable when its state may have changed, so a socket is asked only
// after that, or after its handler ran (it may have left input unread, which does not signal
// again): the idle ones cost nothing. A send on a socket outside its handler can take the
// signal of input that was already waiting, so whoever does that calls touched(). As a safety
// net, a wait that times out with nothing ready asks every socket once, at most once a second
// (kSweepInterval): a loop on a 20 ms voice timer times out every frame.
//
// The wait is epoll(7), level-triggered, not poll(2): a descriptor is registered once, when its
// item is added, so a wait costs the same with one link or hundreds. poll(2) walked every
// descriptor twice per wait (a node holds one per link), and a loop on a voice timer waits 50
// times a second.
// Thread-safety: one thread, the loop's.
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "sotto/base/status.h"

namespace sotto::net {

class Poller {
 public:
  using Handler = std::function<void()>;

  Poller();
  ~Poller();
  Poller(const Poller&) = delete;
  Poller& operator=(const Poller&) = delete;

  void add_socket(void* socket, Handler handler);
  void add_fd(int fd, Handler handler);
  void remove_socket(void* socket);
  void remove_fd(int fd);
  // `socket` was used outside its handler (e.g. a reply sent later): ask it on the next poll.
  void touched(void* socket);
  // Called by a socket's handler that read until ZeroMQ said EAGAIN: the socket's descriptor
  // signals the next input, so it need not be asked again before the wait.
  void drained(void* socket);
  // A held descriptor is not waited on: its owner reads it when it chooses (a LAN's beacons
  // once a second rather than one wake-up each).
  void hold_fd(int fd, bool held);

  // Waits up to `timeout_ms` (-1: forever) and runs the handlers of ready items.
  // Returns how many were ready; an interrupted wait (EINTR) returns 0. Fails when the wait set
  // could not be created or a descriptor could not join it (the process is out of descriptors).
  Result<int> poll(long timeout_ms);
  // Instrumentation: when on, each poll() notes when its wait ended (before any handler ran).
  void note_wakes(bool on) { note_wakes_ = on; }
  std::chrono::steady_clock::time_point woke_at() const { return woke_at_; }
  size_t size() const { return items_.size(); }

 private:
  struct Item {
    void* socket = nullptr;
    int fd = -1;  // the plain descriptor, or the socket's ZMQ_FD
    Handler handler;
    uint64_t id = 0;  // the epoll registration's tag; ids grow with items_, so it is sorted
    bool removed = false;
    bool ask = true;  // a socket that may have input: ask its ZMQ_EVENTS before waiting
    bool held = false;
    bool watched = false;  // registered in the epoll set
  };
  static constexpr std::chrono::milliseconds kSweepInterval{1000};
  static constexpr int kMaxEventsPerWait = 64;  // more stay ready for the next wait
  void add(Item item);
  void watch(Item& item, bool on);
  Item* find(uint64_t id);
  void sweep_if_due();

  int epoll_fd_ = -1;
  int epoll_errno_ = 0;  // why a descriptor could not be watched, reported by the next poll()
  uint64_t next_id_ = 1;
  std::vector<Item> items_;
  // One wait's working set, kept between waits: a loop that wakes every voice frame would
  // otherwise allocate and free it each time.
  std::vector<char> ready_;
  std::chrono::steady_clock::time_point last_sweep_{};
  bool note_wakes_ = false;
  std::chrono::steady_clock::time_point woke_at_;
};

}  // namespace sotto::net
