// WAV files: how recordings enter (`sotto talk --wav`) and how received voice leaves a headless
// receiver. Reading accepts 16-bit PCM at any rate, mono or stereo, and converts to sotto's voice
// format (48 kHz mono); writing always produces 48 kHz mono 16-bit PCM.
//
// The reader treats its input as untrusted: truncated or malformed headers are Corruption, formats
// it does not handle (8/24/32-bit, float, more than two channels) are InvalidArgument with a
// message saying what the file is and what is wanted. It never reads outside the buffer.
// Thread-safety: free functions on values; no shared state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::voice {

struct WavAudio {
  std::vector<int16_t> samples;  // 48 kHz mono
  uint32_t source_rate_hz = 0;   // as found in the file
  uint16_t source_channels = 0;
};

// Parses a whole WAV file held in memory.
Result<WavAudio> parse_wav(ByteView file);
// Reads and parses a WAV file; IoError when it cannot be read.
Result<WavAudio> read_wav(const std::string& path);

// The bytes of a 48 kHz mono 16-bit PCM WAV file holding `samples`.
Result<Bytes> encode_wav(std::span<const int16_t> samples);
// Writes encode_wav(samples) to `path` (created or truncated, mode 0644 less the umask).
Status write_wav(const std::string& path, std::span<const int16_t> samples);

// Linear-interpolation resampling of mono audio from `from_rate_hz` to `to_rate_hz`. Good enough
// for speech recordings fed to a 24 kbit/s codec; no anti-alias filter.
// REQUIRES: both rates > 0.
std::vector<int16_t> resample_linear(std::span<const int16_t> in, uint32_t from_rate_hz,
                                     uint32_t to_rate_hz);

}  // namespace sotto::voice
