// `sotto audio devices`: the sound devices PortAudio sees, so a user can pick one by number or
// name. Needs no profile and no running node.
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "sotto/base/display_text.h"
#include "sotto/voice/audio_device.h"
#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

nlohmann::json to_json(const voice::AudioDeviceInfo& device) {
  return {{"index", device.index},
          {"name", device.name},
          {"host_api", device.host_api},
          {"max_input_channels", device.max_input_channels},
          {"max_output_channels", device.max_output_channels},
          {"default_sample_rate", device.default_sample_rate},
          {"default_input", device.default_input},
          {"default_output", device.default_output}};
}

// "  3  USB Headset: Audio (hw:1,0)  [ALSA]  in 1, out 2, 48000 Hz  (default input)"
std::string to_line(const voice::AudioDeviceInfo& device) {
  std::ostringstream line;
  line.width(3);
  line << device.index;
  line << "  " << display_text(device.name) << "  [" << display_text(device.host_api) << "]  in "
       << device.max_input_channels << ", out " << device.max_output_channels << ", "
       << device.default_sample_rate << " Hz";
  if (device.default_input && device.default_output) {
    line << "  (default input and output)";
  } else if (device.default_input) {
    line << "  (default input)";
  } else if (device.default_output) {
    line << "  (default output)";
  }
  return line.str();
}

}  // namespace

int run_audio_devices(const GlobalOptions& options) {
  auto devices = voice::list_audio_devices();
  if (!devices.is_ok()) return fail(devices.status());
  if (options.json) {
    // No devices: no lines; scripts see an empty list.
    for (const auto& device : devices.value()) std::cout << json_line(to_json(device)) << "\n";
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
