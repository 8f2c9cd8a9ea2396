#include "sotto/voice/wav.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "sotto/voice/opus_codec.h"
#include "src/voice/file_out.h"

namespace sotto::voice {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatExtensible = 0xFFFE;
// A data size of 0xFFFFFFFF is what streaming writers leave when they cannot seek back: "to EOF".
constexpr uint32_t kSizeUnknown = 0xFFFFFFFF;
// Rates outside these are not recordings anyone feeds to a voice channel. The lower bound also
// bounds the resampler's output: at most 12 samples out per sample in.
constexpr uint32_t kMinRateHz = 4'000;
constexpr uint32_t kMaxRateHz = 768'000;

uint16_t le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
bool tag_is(const uint8_t* p, const char* tag) {
  return std::memcmp(p, tag, 4) == 0;
}

struct Format {
  uint16_t format = 0;
  uint16_t channels = 0;
  uint32_t rate_hz = 0;
  uint16_t block_align = 0;
  uint16_t bits = 0;
};

Result<Format> parse_fmt(ByteView body) {
  if (body.size() < 16) return Status::corruption("WAV fmt chunk too short");
  Format f;
  f.format = le16(&body[0]);
  f.channels = le16(&body[2]);
  f.rate_hz = le32(&body[4]);
  f.block_align = le16(&body[12]);
  f.bits = le16(&body[14]);
  if (f.format == kFormatExtensible) {
    // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the SubFormat GUID.
    if (body.size() < 40) return Status::corruption("WAV extensible fmt chunk too short");
    f.format = le16(&body[24]);
  }
  const std::string what = "WAV format " + std::to_string(f.format) + ", " +
                           std::to_string(f.bits) + "-bit, " + std::to_string(f.channels) +
                           " channel(s), " + std::to_string(f.rate_hz) + " Hz";
  if (f.format != kFormatPcm || f.bits != 16 || (f.channels != 1 && f.channels != 2)) {
    return Status::invalid_argument("unsupported " + what +
                                    ": sotto reads 16-bit PCM WAV, mono or stereo");
  }
  if (f.rate_hz < kMinRateHz || f.rate_hz > kMaxRateHz) {
    return Status::corruption("implausible sample rate in " + what);
  }
  if (f.block_align != f.channels * 2) {
    return Status::corruption("WAV block align " + std::to_string(f.block_align) +
                              " does not match " + what);
  }
  return f;
}

}  // namespace

std::vector<int16_t> resample_linear(std::span<const int16_t> in, uint32_t from_rate_hz,
                                     uint32_t to_rate_hz) {
  if (from_rate_hz == to_rate_hz || in.empty()) return {in.begin(), in.end()};
  const uint64_t out_len = static_cast<uint64_t>(in.size()) * to_rate_hz / from_rate_hz;
  std::vector<int16_t> out(out_len);
  for (uint64_t i = 0; i < out_len; ++i) {
    // Position of output sample i in input samples, as an integer part and a fraction of to_rate.
    const uint64_t scaled = i * from_rate_hz;
    const uint64_t i0 = scaled / to_rate_hz;
    const uint64_t frac = scaled % to_rate_hz;
    const int64_t a = in[i0];
    const int64_t b = i0 + 1 < in.size() ? in[i0 + 1] : a;
    out[i] = static_cast<int16_t>(a + (b - a) * static_cast<int64_t>(frac) /
                                          static_cast<int64_t>(to_rate_hz));
  }
  return out;
}

Result<WavLayout> locate_wav_data(ByteView head, uint64_t file_size) {
  if (head.size() < 12) return Status::corruption("not a WAV file: shorter than a RIFF header");
  if (!tag_is(&head[0], "RIFF") || !tag_is(&head[8], "WAVE")) {
    return Status::corruption("not a WAV file: no RIFF/WAVE header");
  }
  std::optional<Format> format;
  uint64_t pos = 12;
  while (true) {
    if (head.size() < pos + 8) {
      return Status::corruption(format ? "WAV file has no data chunk"
                                       : "WAV file has no fmt chunk");
    }
    const uint8_t* header = &head[pos];
    const uint32_t size = le32(header + 4);
    pos += 8;
    const uint64_t available = file_size - pos;
    if (tag_is(header, "data")) {
      if (!format) return Status::corruption("WAV data chunk before the fmt chunk");
      uint64_t data_size = size;
      if (size == kSizeUnknown) {
        data_size = available - available % format->block_align;
      } else if (size > available) {
        return Status::corruption("WAV data chunk truncated: header says " + std::to_string(size) +
                                  " bytes, file holds " + std::to_string(available));
      }
      if (data_size % format->block_align != 0) {
        return Status::corruption("WAV data size " + std::to_string(data_size) +
                                  " is not a whole number of sample frames");
      }
      return WavLayout{format->rate_hz, format->channels, format->block_align, pos, data_size};
    }
    if (size > available) {
      return Status::corruption("WAV chunk truncated: header says " + std::to_string(size) +
                                " bytes, file holds " + std::to_string(available));
    }
    if (tag_is(header, "fmt ")) {
      if (format) return Status::corruption("WAV file has two fmt chunks");
      if (head.size() < pos + size)
        return Status::corruption("WAV fmt chunk beyond the header read");
      SOTTO_ASSIGN_OR_RETURN(format, parse_fmt(head.subspan(pos, size)));
    }
    // Chunks are padded to an even length; a missing final pad byte is tolerated.
    pos += size;
    if (size % 2 == 1 && pos < file_size) ++pos;
  }
}

void wav_to_mono(ByteView data, uint16_t channels, std::span<int16_t> out) {
  const size_t block = size_t{channels} * 2;
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t* frame = data.data() + i * block;
    if (channels == 1) {
      out[i] = static_cast<int16_t>(le16(frame));
    } else {  // average left and right; the sum of two int16 fits an int
      const int left = static_cast<int16_t>(le16(frame));
      const int right = static_cast<int16_t>(le16(frame + 2));
      out[i] = static_cast<int16_t>((left + right) / 2);
    }
  }
}

Result<WavAudio> parse_wav(ByteView file) {
  SOTTO_ASSIGN_OR_RETURN(const WavLayout layout, locate_wav_data(file, file.size()));
  std::vector<int16_t> mono(layout.data_bytes / layout.block_align);
  wav_to_mono(file.subspan(layout.data_offset, layout.data_bytes), layout.channels, mono);
  WavAudio audio;
  audio.source_rate_hz = layout.rate_hz;
  audio.source_channels = layout.channels;
  // At the voice rate already (most recordings): the samples as read, not a copy.
  audio.samples = layout.rate_hz == kSampleRateHz
                      ? std::move(mono)
                      : resample_linear(mono, layout.rate_hz, kSampleRateHz);
  return audio;
}

Result<WavAudio> read_wav(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return Status::io_error("opening " + path + ": " + std::strerror(errno));
  // Sized once from the file's length (a long recording is megabytes: no regrowing and copying),
  // then read to its real end, which a file still being written may have moved.
  Bytes content;
  if (std::fseek(f.get(), 0, SEEK_END) == 0) {
    const long size = std::ftell(f.get());
    if (size > 0) content.reserve(static_cast<size_t>(size) + (1 << 16));  // + the last chunk read
    std::rewind(f.get());
  }
  constexpr size_t kChunk = 1 << 16;
  size_t n;
  do {
    const size_t old = content.size();
    content.resize(old + kChunk);
    n = std::fread(content.data() + old, 1, kChunk, f.get());
    content.resize(old + n);
  } while (n > 0);
  if (std::ferror(f.get()))
    return Status::io_error("reading " + path + ": " + std::strerror(errno));
  auto audio = parse_wav(content);
  if (!audio) return audio.status().with_context(path);
  return audio;
}

Result<Bytes> encode_wav(std::span<const int16_t> samples) {
  // RIFF sizes are 32-bit: the data (2 bytes per sample) plus 36 header bytes must fit.
  if (samples.size() > (uint64_t{0xFFFFFFFF} - 36) / 2) {
    return Status::invalid_argument("audio too long for a WAV file");
  }
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * 2);
  Bytes out;
  out.reserve(44 + data_bytes);
  append_tag(out, "RIFF");
  append_le32(out, 36 + data_bytes);
  append_tag(out, "WAVE");
  append_tag(out, "fmt ");
  append_le32(out, 16);
  append_le16(out, kFormatPcm);
  append_le16(out, 1);                  // channels
  append_le32(out, kSampleRateHz);      // sample rate
  append_le32(out, kSampleRateHz * 2);  // byte rate
  append_le16(out, 2);                  // block align
  append_le16(out, 16);                 // bits per sample
  append_tag(out, "data");
  append_le32(out, data_bytes);
  for (int16_t s : samples) append_le16(out, static_cast<uint16_t>(s));
  return out;
}

Status write_wav(const std::string& path, std::span<const int16_t> samples) {
  SOTTO_ASSIGN_OR_RETURN(Bytes bytes, encode_wav(samples));
  return write_file(path, bytes);
}

}  // namespace sotto::voice
