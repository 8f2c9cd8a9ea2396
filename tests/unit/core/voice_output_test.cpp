#include <catch2/catch.hpp>
#include <vector>

#include "src/core/voice_output.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using namespace sotto::core;

TEST_CASE("a frame that comes while the output is idle plays at once, whatever its phase",
          "[core][voice]") {
  // The device's beat is kept only while it plays: a talk spurt that begins 7 ms after the last
  // idle beat does not wait 13 ms more for the next one (for the whole spurt).
  test::TempDir tmp;
  VoiceOutput output(tmp / "out.wav", 20);
  REQUIRE(output.open().is_ok());
  REQUIRE(output.kind() == VoiceOutput::Kind::kDevice);
  REQUIRE(output.play_mix(1000).is_ok());  // nothing to play
  CHECK(output.device_due_ms() <= 1007);
  const std::vector<int16_t> frame(960, 100);
  output.add("talker", frame, false);
  REQUIRE(output.play_mix(1007).is_ok());
  CHECK(output.device_due_ms() == 1027);   // playing: the beat follows the spurt's first frame
  REQUIRE(output.play_mix(1027).is_ok());  // the spurt ended: idle again
  CHECK(output.device_due_ms() == 1027);
}
