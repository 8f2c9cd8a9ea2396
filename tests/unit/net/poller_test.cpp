#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sotto/net/poller.h"
#include "sotto/net/zmq_socket.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;

namespace {

// A PULL socket fed by a PUSH socket over inproc; the Poller serves the PULL end.
struct Pipe {
  net::ZmqContext ctx;
  net::ZmqSocket pull = net::ZmqSocket::create(ctx, ZMQ_PULL).value();
  net::ZmqSocket push = net::ZmqSocket::create(ctx, ZMQ_PUSH).value();

  Pipe() {
    REQUIRE(pull.bind("inproc://poller-test").is_ok());
    REQUIRE(push.connect("inproc://poller-test").is_ok());
  }
  void send(const std::string& text) { REQUIRE(push.send({as_bytes(text)}).is_ok()); }
};

// True while thread `tid` of this process sleeps in the poller's wait, epoll_wait(2): /proc
// shows the system call a blocked thread is in, and "running" for one that is not.
bool blocked_in_poll(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long number = -1;
  if (!(in >> number)) return false;
#ifdef SYS_epoll_wait
  if (number == SYS_epoll_wait) return true;
#endif
  return number == SYS_epoll_pwait;
}

int descriptor_of(net::ZmqSocket& socket) {
  int fd = -1;
  size_t size = sizeof fd;
  REQUIRE(zmq_getsockopt(socket.get(), ZMQ_FD, &fd, &size) == 0);
  return fd;
}

bool readable(int fd) {
  pollfd item{fd, POLLIN, 0};
  return ::poll(&item, 1, 0) == 1;
}

}  // namespace

TEST_CASE("a socket whose handler leaves input unread is served again without new input",
          "[net][poller]") {
  Pipe pipe;
  net::Poller poller;
  int served = 0;
  // Takes one message per call, as a handler with a per-call limit does under a flood.
  poller.add_socket(pipe.pull.get(), [&] {
    auto part = pipe.pull.receive();
    REQUIRE(part.is_ok());
    if (part.value()) ++served;
  });
  for (int i = 0; i < 3; ++i) pipe.send("m" + std::to_string(i));
  for (int round = 1; round <= 3; ++round) {
    CHECK(poller.poll(1000).value() == 1);
    CHECK(served == round);
  }
  CHECK(poller.poll(0).value() == 0);  // drained: nothing more to serve
  CHECK(served == 3);
}

TEST_CASE("input that arrives while the poller waits wakes it, socket or plain descriptor",
          "[net][poller]") {
  Pipe pipe;
  net::Poller poller;
  int messages = 0;
  int bytes = 0;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  poller.add_socket(pipe.pull.get(), [&] {
    while (auto part = pipe.pull.receive().value()) ++messages;
  });
  poller.add_fd(fds[0], [&] {
    char c;
    bytes += static_cast<int>(::read(fds[0], &c, 1));
  });
  CHECK(poller.poll(0).value() == 0);  // both idle
  // Catch2's assertions are for the test's own thread only.
  std::atomic<bool> waited{false}, sent{false};
  const pid_t poller_thread = ::gettid();
  std::thread sender([&] {
    // Only once the poller sleeps in poll(2): input that came earlier would not show it wakes.
    waited = test::wait_until([&] { return blocked_in_poll(poller_thread); }, 5s);
    sent = pipe.push.send({as_bytes(std::string("late"))}).is_ok();
  });
  const auto start = std::chrono::steady_clock::now();
  while (messages == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(5)) {
    REQUIRE(poller.poll(5000).is_ok());
  }
  sender.join();
  CHECK(waited);
  CHECK(sent);
  CHECK(messages == 1);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(4));
  REQUIRE(::write(fds[1], "x", 1) == 1);
  CHECK(poller.poll(1000).value() == 1);
  CHECK(bytes == 1);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("a socket used outside its handler is asked on the next poll", "[net][poller]") {
  net::ZmqContext ctx;
  auto a = net::ZmqSocket::create(ctx, ZMQ_PAIR).value();
  auto b = net::ZmqSocket::create(ctx, ZMQ_PAIR).value();
  REQUIRE(a.bind("inproc://poller-touched").is_ok());
  REQUIRE(b.connect("inproc://poller-touched").is_ok());
  net::Poller poller;
  int received = 0;
  poller.add_socket(a.get(), [&] {
    while (auto part = a.receive().value()) ++received;
  });
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  poller.add_fd(fds[0], [&] {
    char c;
    REQUIRE(::read(fds[0], &c, 1) == 1);
  });
  // A round with other input: `a` was asked, had nothing, and is left to its descriptor.
  REQUIRE(::write(fds[1], "x", 1) == 1);
  CHECK(poller.poll(0).value() == 1);
  CHECK(received == 0);

  REQUIRE(b.send({as_bytes(std::string("to a"))}).is_ok());
  // b's message is signalled on a's descriptor...
  const int a_fd = descriptor_of(a);
  REQUIRE(test::wait_until([&] { return readable(a_fd); }, 5s));
  // ...until a send on `a` outside its handler processes a's pending commands (once ZeroMQ's
  // command throttle, about a millisecond, has passed) and with them that signal: from then on
  // the descriptor is quiet while the message waits, and without touched() the next wait would
  // sleep through it.
  REQUIRE(test::wait_until(
      [&] {
        REQUIRE(a.send({as_bytes(std::string("to b"))}).is_ok());
        return !readable(a_fd);
      },
      5s));
  poller.touched(a.get());
  CHECK(poller.poll(200).value() == 1);
  CHECK(received == 1);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("a handler that drained its socket is woken by the next input", "[net][poller]") {
  Pipe pipe;
  net::Poller poller;
  int messages = 0;
  poller.add_socket(pipe.pull.get(), [&] {
    while (auto part = pipe.pull.receive().value()) ++messages;
    poller.drained(pipe.pull.get());  // read until EAGAIN: not asked again before the wait
  });
  for (int round = 1; round <= 3; ++round) {
    pipe.send("m" + std::to_string(round));
    // The descriptor alone must carry each new message: a lost signal would time out here.
    const auto start = std::chrono::steady_clock::now();
    while (messages < round && std::chrono::steady_clock::now() - start < 5s) {
      REQUIRE(poller.poll(5000).is_ok());
    }
    CHECK(messages == round);
    CHECK(std::chrono::steady_clock::now() - start < 4s);
  }
}

namespace {

// A pipe whose read end the poller serves, counting its handler's calls.
struct CountedPipe {
  int fds[2] = {-1, -1};
  int served = 0;
  CountedPipe() { REQUIRE(::pipe(fds) == 0); }
  ~CountedPipe() { close_both(); }
  void close_both() {
    for (int& fd : fds) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
  void write_one() { REQUIRE(::write(fds[1], "x", 1) == 1); }
  void read_one() {
    char c;
    REQUIRE(::read(fds[0], &c, 1) == 1);
    ++served;
  }
};

}  // namespace

TEST_CASE("among hundreds of idle descriptors, exactly the ready ones are served",
          "[net][poller]") {
  net::Poller poller;
  std::vector<std::unique_ptr<CountedPipe>> pipes;
  for (int i = 0; i < 300; ++i) {
    pipes.push_back(std::make_unique<CountedPipe>());
    CountedPipe* pipe = pipes.back().get();
    poller.add_fd(pipe->fds[0], [pipe] { pipe->read_one(); });
  }
  CHECK(poller.poll(0).value() == 0);
  // More ready at once than one wait takes in (64): the rest are served by the next waits.
  std::vector<int> written;
  for (int i = 0; i < 300; i += 3) written.push_back(i);
  for (int i : written) pipes[i]->write_one();
  int served = 0;
  for (int round = 0; round < 10 && served < static_cast<int>(written.size()); ++round) {
    served += poller.poll(0).value();
  }
  CHECK(served == static_cast<int>(written.size()));
  for (int i = 0; i < 300; ++i) CHECK(pipes[i]->served == (i % 3 == 0 ? 1 : 0));
  CHECK(poller.poll(0).value() == 0);  // all read: nothing stays ready
}

TEST_CASE(
    "a held descriptor is not served until released; a removed one never again, even when "
    "a new descriptor takes its number",
    "[net][poller]") {
  net::Poller poller;
  CountedPipe held, removed;
  poller.add_fd(held.fds[0], [&] { held.read_one(); });
  poller.add_fd(removed.fds[0], [&] { removed.read_one(); });

  poller.hold_fd(held.fds[0], true);
  held.write_one();
  CHECK(poller.poll(0).value() == 0);
  CHECK(held.served == 0);
  poller.hold_fd(held.fds[0], false);
  CHECK(poller.poll(0).value() == 1);
  CHECK(held.served == 1);

  // Removed, then closed: the kernel hands its number to the next descriptor, which the
  // poller must serve under its own handler and not the old one's.
  const int number = removed.fds[0];
  poller.remove_fd(number);
  removed.close_both();
  CountedPipe reborn;
  // Another thread took a lower number meanwhile: move onto ours, if it is still free (dup2
  // onto a number in use would close someone else's descriptor).
  if (reborn.fds[0] != number && ::fcntl(number, F_GETFD) == -1) {
    REQUIRE(::dup2(reborn.fds[0], number) == number);
    ::close(reborn.fds[0]);
    reborn.fds[0] = number;
  }
  poller.add_fd(reborn.fds[0], [&] { reborn.read_one(); });
  reborn.write_one();
  CHECK(poller.poll(1000).value() == 1);
  CHECK(reborn.served == 1);
  CHECK(removed.served == 0);

  // Removed while still open and readable: not served, and it does not wake the wait.
  poller.remove_fd(reborn.fds[0]);
  reborn.write_one();
  const auto start = std::chrono::steady_clock::now();
  CHECK(poller.poll(50).value() == 0);
  CHECK(std::chrono::steady_clock::now() - start >= 40ms);
  CHECK(reborn.served == 1);
}
