#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <numbers>
#include <vector>

#include "sotto/voice/mixer.h"

using namespace sotto;
using namespace sotto::voice;

namespace {

constexpr size_t kFrame = 960;
constexpr size_t kFade = 240;

std::vector<int16_t> sine(double hz, double amplitude, size_t offset = 0) {
  std::vector<int16_t> out(kFrame);
  for (size_t i = 0; i < kFrame; ++i) {
    out[i] = static_cast<int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * hz * double(i + offset) / 48000)));
  }
  return out;
}

}  // namespace

TEST_CASE("a lone talker passes through sample for sample, faded only at the spurt's edges",
          "[voice][mixer]") {
  Mixer mixer;
  const std::vector<int16_t> frame(kFrame, 10000);
  REQUIRE(mixer.add("alice", frame).is_ok());
  const std::vector<int16_t> first = mixer.mix();
  CHECK(first[0] == 0);  // fade-in starts from silence
  for (size_t i = 1; i < kFade; ++i) {
    CHECK(first[i] > first[i - 1]);  // rising ramp
    CHECK(first[i] == static_cast<int16_t>(10000 * int64_t(i) / int64_t(kFade)));
  }
  CHECK(std::vector<int16_t>(first.begin() + kFade, first.end()) ==
        std::vector<int16_t>(frame.begin() + kFade, frame.end()));

  for (int tick = 0; tick < 5; ++tick) {
    const std::vector<int16_t> speech = sine(220 + 50 * tick, 30000, tick * kFrame);
    REQUIRE(mixer.add("alice", speech).is_ok());
    CHECK(mixer.mix() == speech);
  }

  REQUIRE(mixer.add("alice", frame, /*last=*/true).is_ok());
  const std::vector<int16_t> last = mixer.mix();
  CHECK(std::vector<int16_t>(last.begin(), last.end() - kFade) ==
        std::vector<int16_t>(frame.begin(), frame.end() - kFade));
  for (size_t i = kFrame - kFade + 1; i < kFrame; ++i) CHECK(last[i] < last[i - 1]);
  CHECK(last.back() == 0);  // ends in silence

  // With nobody talking the mix is silence; the next spurt fades in again.
  CHECK(mixer.mix() == std::vector<int16_t>(kFrame, 0));
  REQUIRE(mixer.add("alice", frame).is_ok());
  CHECK(mixer.mix()[0] == 0);
}

TEST_CASE("two quiet talkers are summed exactly", "[voice][mixer]") {
  Mixer mixer;
  const auto a = sine(300, 8000), b = sine(450, 8000);
  for (int tick = 0; tick < 3; ++tick) {
    REQUIRE(mixer.add("a", a).is_ok());
    REQUIRE(mixer.add("b", b).is_ok());
    const auto out = mixer.mix();
    if (tick == 0) continue;  // the fade-in frame
    for (size_t i = 0; i < kFrame; ++i) CHECK(out[i] == a[i] + b[i]);
  }
  CHECK(mixer.gain() == 1.0);
}

TEST_CASE("two full-scale talkers never overflow int16 and keep their sign", "[voice][mixer]") {
  Mixer mixer;
  const std::vector<std::vector<int16_t>> loud = {std::vector<int16_t>(kFrame, 32767),
                                                  std::vector<int16_t>(kFrame, -32768),
                                                  sine(1000, 32767), sine(1000, -32768)};
  // Warm up past the fade-in, then every combination of two full-scale frames.
  REQUIRE(mixer.add("a", loud[2]).is_ok());
  REQUIRE(mixer.add("b", loud[2]).is_ok());
  (void)mixer.mix();
  for (const auto& a : loud) {
    for (const auto& b : loud) {
      REQUIRE(mixer.add("a", a).is_ok());
      REQUIRE(mixer.add("b", b).is_ok());
      const auto out = mixer.mix();
      int wrong_sign = 0, too_big = 0;
      for (size_t i = 0; i < kFrame; ++i) {
        const int sum = a[i] + b[i];
        if ((sum > 0 && out[i] < 0) || (sum < 0 && out[i] > 0)) ++wrong_sign;  // wrapped around
        if (std::abs(int{out[i]}) > 32767) ++too_big;
      }
      CHECK(wrong_sign == 0);
      CHECK(too_big == 0);
    }
  }
  // Limiting, not muting: a constant full-scale pair comes out at full scale.
  REQUIRE(mixer.add("a", loud[0]).is_ok());
  REQUIRE(mixer.add("b", loud[0]).is_ok());
  const auto out = mixer.mix();
  CHECK(out.back() == 32767);
  CHECK(mixer.gain() == Approx(0.5).margin(0.001));
}

TEST_CASE("after limiting the gain recovers and a lone talker is exact again", "[voice][mixer]") {
  Mixer mixer;
  for (int tick = 0; tick < 3; ++tick) {
    REQUIRE(mixer.add("a", sine(500, 32000, tick * kFrame)).is_ok());
    REQUIRE(mixer.add("b", sine(500, 32000, tick * kFrame)).is_ok());
    (void)mixer.mix();
  }
  CHECK(mixer.gain() < 0.6);
  REQUIRE(mixer.add("a", sine(500, 10000), /*last=*/true).is_ok());
  REQUIRE(mixer.add("b", sine(500, 10000), /*last=*/true).is_ok());
  (void)mixer.mix();
  // The release is smooth (a 50 ms time constant), so give it half a second.
  for (int tick = 0; tick < 25; ++tick) (void)mixer.mix();
  CHECK(mixer.gain() == 1.0);
  REQUIRE(mixer.add("a", sine(700, 20000)).is_ok());
  (void)mixer.mix();
  const auto steady = sine(700, 20000, kFrame);
  REQUIRE(mixer.add("a", steady).is_ok());
  CHECK(mixer.mix() == steady);
}

TEST_CASE("the mixer refuses frames of the wrong length and a talker twice in one tick",
          "[voice][mixer]") {
  Mixer mixer;
  CHECK(mixer.add("a", std::vector<int16_t>(480)).code() == StatusCode::kInvalidArgument);
  REQUIRE(mixer.add("a", std::vector<int16_t>(kFrame, 1)).is_ok());
  CHECK(mixer.add("a", std::vector<int16_t>(kFrame, 1)).code() == StatusCode::kInvalidArgument);

  Mixer ten_ms(MixerOptions{480, 240, 50});
  CHECK(ten_ms.add("a", std::vector<int16_t>(480)).is_ok());
  CHECK(ten_ms.mix().size() == 480);
}
