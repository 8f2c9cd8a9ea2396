#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

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

// True while thread `tid` of this process sleeps in poll(2): /proc shows the system call a
// blocked thread is in, and "running" for one that is not.
bool blocked_in_poll(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long number = -1;
  if (!(in >> number)) return false;
#ifdef SYS_poll
  if (number == SYS_poll) return true;
#endif
  return number == SYS_ppoll;
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
