// `sotto audio devices` through the real build/sotto binary: exit 0 with no device or one, one
// device per line (one JSON object per line with --json), and none of ALSA's or JACK's stderr
// chatter. ALSA is set up by the test (tests/support/alsa_config.h), so both cases run on every
// machine, sound card or not.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sotto/voice/audio_device.h"
#include "tests/support/alsa_config.h"
#include "tests/support/process.h"

using namespace sotto;
using sotto::test::lines_of;
using sotto::test::run_sotto;

namespace {}  // namespace

TEST_CASE("sotto audio devices says to use WAV files when there is no device", "[cli][audio]") {
  test::AlsaConfig alsa;  // no device, sound card or not; the sotto started here sees the same
  auto text = run_sotto({"audio", "devices"});
  INFO("stdout: " << text.out << "\nstderr: " << text.err);
  CHECK(text.exit_code == 0);
  CHECK(text.err.empty());
  CHECK(lines_of(text.out) ==
        std::vector<std::string>{
            "no audio devices found; use --audio-in FILE.wav / --audio-out FILE.wav|DIR"});

  auto json = run_sotto({"--json", "audio", "devices"});
  INFO("stdout: " << json.out << "\nstderr: " << json.err);
  CHECK(json.exit_code == 0);
  CHECK(json.err.empty());
  CHECK(json.out.empty());
}

TEST_CASE("sotto audio devices lists the devices, one per line or one JSON object per line",
          "[cli][audio]") {
  test::AlsaConfig alsa(std::vector<int16_t>(960, 1));  // exactly one device
  auto devices = voice::list_audio_devices();
  REQUIRE(devices.is_ok());
  REQUIRE(devices->size() == 1);

  auto text = run_sotto({"audio", "devices"});
  INFO("stdout: " << text.out << "\nstderr: " << text.err);
  CHECK(text.exit_code == 0);
  CHECK(text.err.empty());
  const auto lines = lines_of(text.out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(test::AlsaConfig::kDevice) != std::string::npos);

  auto json = run_sotto({"--json", "audio", "devices"});
  INFO("stdout: " << json.out << "\nstderr: " << json.err);
  CHECK(json.exit_code == 0);
  CHECK(json.err.empty());
  const auto json_lines = lines_of(json.out);
  REQUIRE(json_lines.size() == 1);
  const auto device = nlohmann::json::parse(json_lines[0], nullptr, false);
  REQUIRE(device.is_object());
  CHECK(device["index"] == devices->front().index);
  CHECK(device["name"] == test::AlsaConfig::kDevice);
  CHECK(device["default_input"] == true);
  CHECK(device["default_output"] == true);
  for (const char* key :
       {"host_api", "max_input_channels", "max_output_channels", "default_sample_rate"}) {
    CHECK(device.contains(key));
  }
}

TEST_CASE("sotto audio without a subcommand is a usage error", "[cli][audio]") {
  auto result = run_sotto({"audio"});
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK_FALSE(result.err.empty());
}
