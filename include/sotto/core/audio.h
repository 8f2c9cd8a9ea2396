// Audio as the front ends see it: the sound devices a user can pick with --audio-in/--audio-out,
// and a recording checked before it goes on air (`sotto talk --wav`). The devices and the WAV
// reader are the voice layer's (sotto/voice/), which the front ends do not see.
// Thread-safety: free functions, any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sotto/base/status.h"

namespace sotto::core {

// The sound devices PortAudio sees, each as the object `sotto audio devices --json` prints:
// index (what --audio-in/--audio-out take), name, host_api, max_input_channels,
// max_output_channels, default_sample_rate, default_input, default_output. Zero devices is an
// empty list, not an error.
Result<std::vector<nlohmann::json>> audio_devices();

// How long the WAV file at `path` plays. Errors: IoError when it cannot be read; Corruption or
// InvalidArgument for a file that is not a WAV sotto reads (16-bit PCM, mono or stereo).
Result<int64_t> wav_duration_ms(const std::string& path);

}  // namespace sotto::core
