// NodeLoop, the node's thread: calls from other threads run on it, never on the caller's thread;
// a call it does not answer in time, or made after it ended, is refused rather than run.
#include "src/core/node_loop.h"

#include <catch2/catch.hpp>
#include <future>
#include <thread>

using namespace sotto;
using namespace std::chrono_literals;

namespace {

// A loop whose rounds only wait on the poller (woken by posted tasks and stop()).
struct LoopRig {
  LoopRig() : loop(core::NodeLoop::create(poller).value()) {
    loop->start([this] { return poller.poll(1000).status(); });
  }
  net::Poller poller;
  std::unique_ptr<core::NodeLoop> loop;
};

}  // namespace

TEST_CASE("a call from another thread runs on the loop's thread", "[core][node_loop]") {
  LoopRig rig;
  auto ran_on = rig.loop->call<std::thread::id>([] { return std::this_thread::get_id(); }, 10s);
  REQUIRE(ran_on.has_value());
  CHECK(*ran_on != std::this_thread::get_id());
  auto on_loop = rig.loop->call<bool>([&] { return rig.loop->on_loop_thread(); }, 10s);
  REQUIRE(on_loop.has_value());
  CHECK(*on_loop);
  CHECK_FALSE(rig.loop->on_loop_thread());
}

TEST_CASE("a call the loop does not answer in time is given up on", "[core][node_loop]") {
  LoopRig rig;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  REQUIRE(rig.loop->post([released] { released.wait(); }));  // the loop is busy
  CHECK_FALSE(rig.loop->call<int>([] { return 1; }, 20ms).has_value());
  release.set_value();
  CHECK(rig.loop->call<int>([] { return 2; }, 10s) == 2);
}

TEST_CASE("after the loop has ended, calls are refused, not run", "[core][node_loop]") {
  LoopRig rig;
  rig.loop->stop();
  CHECK(rig.loop->join().is_ok());
  bool ran = false;
  CHECK_FALSE(rig.loop->post([&] { ran = true; }));
  CHECK_FALSE(rig.loop->call<int>([&] { return ran = true, 1; }, 10s).has_value());
  CHECK_FALSE(ran);
  CHECK(rig.loop->join().is_ok());  // a second join returns the same status
}

TEST_CASE("a failed round ends the loop with its status", "[core][node_loop]") {
  net::Poller poller;
  auto loop = core::NodeLoop::create(poller).value();
  loop->start([] { return Status::io_error("the network went away"); });
  const Status ended = loop->join();
  CHECK(ended.code() == StatusCode::kIoError);
  CHECK(ended.message() == "the network went away");
}
