// `sotto audio devices` through the real build/sotto binary: exit 0 with or without a sound card,
// one device per line (one JSON object per line with --json), and none of ALSA's or JACK's
// stderr chatter.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "sotto/voice/audio_device.h"
#include "tests/support/process.h"

using namespace sotto;
using sotto::test::run_sotto;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("sotto audio devices lists the devices, or says to use WAV files when there are none",
          "[cli][audio]") {
  auto devices = voice::list_audio_devices();
  REQUIRE(devices.is_ok());

  auto text = run_sotto({"audio", "devices"});
  INFO("stdout: " << text.out << "\nstderr: " << text.err);
  CHECK(text.exit_code == 0);
  CHECK(text.err.empty());
  const auto lines = lines_of(text.out);
  if (devices->empty()) {
    CHECK(lines ==
          std::vector<std::string>{
              "no audio devices found; use --audio-in FILE.wav / --audio-out FILE.wav|DIR"});
  } else {
    REQUIRE(lines.size() == devices->size());
    for (size_t i = 0; i < lines.size(); ++i) {
      CHECK(lines[i].find((*devices)[i].name) != std::string::npos);
    }
  }

  auto json = run_sotto({"--json", "audio", "devices"});
  INFO("stdout: " << json.out << "\nstderr: " << json.err);
  CHECK(json.exit_code == 0);
  CHECK(json.err.empty());
  const auto json_lines = lines_of(json.out);
  REQUIRE(json_lines.size() == devices->size());
  for (size_t i = 0; i < json_lines.size(); ++i) {
    const auto device = nlohmann::json::parse(json_lines[i], nullptr, false);
    REQUIRE(device.is_object());
    CHECK(device["index"] == (*devices)[i].index);
    CHECK(device["name"] == (*devices)[i].name);
    for (const char* key : {"host_api", "max_input_channels", "max_output_channels",
                            "default_sample_rate", "default_input", "default_output"}) {
      CHECK(device.contains(key));
    }
  }
}

TEST_CASE("sotto audio without a subcommand is a usage error", "[cli][audio]") {
  auto result = run_sotto({"audio"});
  CHECK(result.exit_code == 2);
  CHECK(result.out.empty());
  CHECK_FALSE(result.err.empty());
}
