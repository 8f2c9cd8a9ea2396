// `sotto audio devices`: the sound devices PortAudio sees, so a user can pick one by number or
// name. Needs no profile and no running node.
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sotto/core/audio.h"
#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

// "  3  USB Headset: Audio (hw:1,0)  [ALSA]  in 1, out 2, 48000 Hz  (default input)"
std::string to_line(const nlohmann::json& device) {
  std::ostringstream line;
  line.width(3);
  line << device.value("index", -1);
  line << "  " << shown(device, "name") << "  [" << shown(device, "host_api") << "]  in "
       << device.value("max_input_channels", 0) << ", out "
       << device.value("max_output_channels", 0) << ", " << device.value("default_sample_rate", 0.0)
       << " Hz";
  const bool default_input = device.value("default_input", false);
  const bool default_output = device.value("default_output", false);
  if (default_input && default_output) {
    line << "  (default input and output)";
  } else if (default_input) {
    line << "  (default input)";
  } else if (default_output) {
    line << "  (default output)";
  }
  return line.str();
}

}  // namespace

int run_audio_devices(const GlobalOptions& options) {
  auto devices = core::audio_devices();
  if (!devices.is_ok()) return fail(devices.status());
  if (options.json) {
    // No devices: no lines; scripts see an empty list.
    for (const auto& device : devices.value()) std::cout << json_line(device) << "\n";
    return kExitOk;
  }
  if (devices->empty()) {
    std::cout << "no audio devices found; use --audio-in FILE.wav / --audio-out FILE.wav|DIR\n";
    return kExitOk;
  }
  for (const auto& device : devices.value()) std::cout << to_line(device) << "\n";
  return kExitOk;
}

}  // namespace sotto::cli
