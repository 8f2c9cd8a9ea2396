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

// Where a WAV file's samples are, found from its first bytes `head` (or all of it) and its length.
// Errors as parse_wav's; also Corruption when `head` ends before the data chunk's header does.
struct WavLayout {
  uint32_t rate_hz = 0;
  uint16_t channels = 0;
  uint16_t block_align = 0;  // bytes per sample frame
  uint64_t data_offset = 0;
  // Whole sample frames; for a header that says "to end of file" (a recording being written),
  // what the file held.
  uint64_t data_bytes = 0;
};
Result<WavLayout> locate_wav_data(ByteView head, uint64_t file_size);
// `out.size()` mono samples from as many 16-bit PCM sample frames of `channels` (1 or 2; stereo
// averaged) in `data`. REQUIRES: data.size() >= out.size() * channels * 2.
void wav_to_mono(ByteView data, uint16_t channels, std::span<int16_t> out);

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
