#include "sotto/core/audio.h"

#include "sotto/voice/audio_device.h"
#include "sotto/voice/opus_codec.h"
#include "sotto/voice/wav.h"

namespace sotto::core {

Result<std::vector<nlohmann::json>> audio_devices() {
  SOTTO_ASSIGN_OR_RETURN(std::vector<voice::AudioDeviceInfo> found, voice::list_audio_devices());
  std::vector<nlohmann::json> devices;
  devices.reserve(found.size());
  for (const voice::AudioDeviceInfo& device : found) {
    devices.push_back({{"index", device.index},
                       {"name", device.name},
                       {"host_api", device.host_api},
                       {"max_input_channels", device.max_input_channels},
                       {"max_output_channels", device.max_output_channels},
                       {"default_sample_rate", device.default_sample_rate},
                       {"default_input", device.default_input},
                       {"default_output", device.default_output}});
  }
  return devices;
}

Result<int64_t> wav_duration_ms(const std::string& path) {
  // read_wav converts any rate to the voice format, so the length in samples is at its rate.
  SOTTO_ASSIGN_OR_RETURN(voice::WavAudio audio, voice::read_wav(path));
  return static_cast<int64_t>(audio.samples.size()) * 1000 / voice::kSampleRateHz;
}

}  // namespace sotto::core
