// A capture device blocks in read() until a frame's worth has been captured. The engine reads it
// on a thread of its own (CaptureFeed::threaded), so the node's loop — here the test thread,
// calling what the loop calls — goes on serving while the device holds its frames back.
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

#include "sotto/base/clock.h"
#include "sotto/crypto/primitives.h"
#include "src/core/voice_capture.h"
#include "src/core/voice_engine.h"
#include "tests/support/voice_side.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;

namespace {

// A device whose read() blocks until the test lets a frame through, or closes it.
class GatedSource : public voice::AudioSource {
 public:
  void allow(int frames) {
    std::lock_guard<std::mutex> lock(mutex_);
    allowed_ += frames;
    changed_.notify_all();
  }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    changed_.notify_all();
  }
  int reads_started() const { return reads_started_.load(); }

  Result<bool> read(std::span<int16_t> frame) override {
    ++reads_started_;
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || allowed_ > 0; });
    if (allowed_ == 0) return false;
    --allowed_;
    for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<int16_t>((i % 48) * 400);
    return true;
  }
  // As a device's: the waiting read gives up.
  void interrupt() override { close(); }
  std::string description() const override { return "gated test device"; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int allowed_ = 0;
  bool closed_ = false;
  std::atomic<int> reads_started_{0};
};

}  // namespace

TEST_CASE("a threaded capture feed hands over the frames the device gave, then its end",
          "[core][voice][capture]") {
  auto source = std::make_unique<GatedSource>();
  GatedSource& gate = *source;
  std::atomic<int> wakes{0};
  auto feed = core::CaptureFeed::threaded(std::move(source), 960, [&] { ++wakes; });
  std::vector<int16_t> frame(960);
  REQUIRE(test::wait_until([&] { return gate.reads_started() >= 1; }, 5000ms));
  CHECK_FALSE(feed->ready());
  CHECK(feed->next(frame) == core::CaptureFeed::Next::kNotYet);  // never waits for the device
  gate.allow(2);
  REQUIRE(test::wait_until([&] { return wakes.load() >= 2; }, 5000ms));
  CHECK(feed->ready());
  CHECK(feed->next(frame) == core::CaptureFeed::Next::kFrame);
  CHECK(frame[1] == 400);
  CHECK(feed->next(frame) == core::CaptureFeed::Next::kFrame);
  gate.close();
  REQUIRE(test::wait_until([&] { return feed->ready(); }, 5000ms));
  CHECK(feed->next(frame) == core::CaptureFeed::Next::kEnd);
}

TEST_CASE(
    "while the capture device blocks, the loop goes on serving: a member is heard, nothing "
    "spins, and the frames go out once they are captured",
    "[core][voice][capture]") {
  FakeClock clock;
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", true};  // free: both talk
  const SecretBytes key = SecretBytes::copy_of(crypto::random_bytes(32));
  test::VoiceSide side;
  side.members.insert("us");
  std::atomic<int> wakes{0};
  core::VoiceEngineHooks hooks = test::voice_hooks(side, channel, key, crypto::random_bytes(16));
  hooks.wake = [&] { ++wakes; };
  core::VoiceEngine engine("us", clock, core::VoiceOptions{}, std::move(hooks));
  REQUIRE(engine.start().is_ok());

  auto source = std::make_unique<GatedSource>();
  GatedSource& gate = *source;
  std::optional<Result<core::MessageInfo>> done;
  engine.talk(
      "ops", std::move(source), [&](Result<core::MessageInfo> r) { done = r; },
      core::VoiceEngine::Capture::kThreaded);
  REQUIRE_FALSE(done);  // talk returned with the device still holding its first frame
  REQUIRE(test::wait_until([&] { return gate.reads_started() >= 1; }, 5000ms));

  // A member talks meanwhile: heard and played, while our device gives nothing.
  const test::Talker member = test::talker("talker", crypto::random_bytes(16));
  engine.on_voice_start(member.fingerprint, channel,
                        test::voice_start(channel, member.transmission_id, member.key));
  for (const auto& frame : test::sealed_frames(channel, member.transmission_id, member.key, 10)) {
    engine.on_frame(member.fingerprint, frame);
    clock.advance_ms(20);
    engine.tick();
  }
  CHECK(side.counter("voice_frames_received") == 10);
  CHECK(side.sent.empty());
  // Our frame is overdue but not captured: the loop is told of no deadline for it (it is woken
  // when the device delivers), only the member's reception's.
  const auto deadline = engine.next_deadline_ms();
  CHECK((!deadline || *deadline > clock.now_ms() - 20));

  gate.allow(3);
  REQUIRE(test::wait_until([&] { return wakes.load() >= 3; }, 5000ms));
  engine.tick();
  CHECK(side.sent.size() == 3);
  gate.close();
  REQUIRE(test::wait_until([&] { return wakes.load() >= 4; }, 5000ms));
  clock.advance_ms(20);
  engine.tick();
  REQUIRE(done);
  REQUIRE(done->is_ok());
  REQUIRE(side.closed);
  CHECK(side.closed->packets.size() == 3);
}

TEST_CASE("a capture feed over a device that stalled is closed without waiting for audio",
          "[core][voice][capture]") {
  auto source = std::make_unique<GatedSource>();
  GatedSource& gate = *source;
  auto feed = core::CaptureFeed::threaded(std::move(source), 960, [] {});
  REQUIRE(test::wait_until([&] { return gate.reads_started() == 1; }, 5s));
  // The device gives nothing and nobody closes it: without the interrupt, the reader's join in
  // the destructor would wait on the loop thread for as long as the read does (here: for ever).
  feed.reset();
  CHECK(gate.reads_started() == 1);
}
