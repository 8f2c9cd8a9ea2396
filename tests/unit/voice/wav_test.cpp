#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "sotto/voice/wav.h"
#include "tests/support/skip.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using namespace sotto::voice;

namespace {

struct WavSpec {
  uint16_t format = 1;
  uint16_t channels = 1;
  uint32_t rate = 48000;
  uint16_t bits = 16;
  Bytes extra_chunk;  // inserted between fmt and data, already framed
};

// A WAV file built field by field, independent of the code under test.
Bytes make_wav(const WavSpec& spec, const std::vector<int16_t>& interleaved) {
  Bytes body;
  append_tag(body, "WAVE");
  append_tag(body, "fmt ");
  append_le32(body, 16);
  append_le16(body, spec.format);
  append_le16(body, spec.channels);
  append_le32(body, spec.rate);
  append_le32(body, spec.rate * spec.channels * spec.bits / 8);
  append_le16(body, static_cast<uint16_t>(spec.channels * spec.bits / 8));
  append_le16(body, spec.bits);
  body.insert(body.end(), spec.extra_chunk.begin(), spec.extra_chunk.end());
  append_tag(body, "data");
  append_le32(body, static_cast<uint32_t>(interleaved.size() * 2));
  for (int16_t s : interleaved) append_le16(body, static_cast<uint16_t>(s));
  Bytes file;
  append_tag(file, "RIFF");
  append_le32(file, static_cast<uint32_t>(body.size()));
  file.insert(file.end(), body.begin(), body.end());
  return file;
}

}  // namespace

TEST_CASE("a written WAV reads back sample for sample as 48 kHz mono", "[voice][wav]") {
  test::TempDir dir;
  std::vector<int16_t> samples;
  for (int i = 0; i < 4800; ++i)
    samples.push_back(static_cast<int16_t>((i * 7919) % 65536 - 32768));
  samples.push_back(32767);
  samples.push_back(-32768);
  REQUIRE(write_wav(dir / "out.wav", samples).is_ok());
  const Bytes file = test::read_file(dir / "out.wav");
  CHECK(file.size() == 44 + samples.size() * 2);
  CHECK(file == make_wav({}, samples));  // the canonical 44-byte header, nothing else
  auto back = read_wav(dir / "out.wav");
  REQUIRE(back.is_ok());
  CHECK(back->source_rate_hz == 48000);
  CHECK(back->source_channels == 1);
  CHECK(back->samples == samples);

  REQUIRE(write_wav(dir / "empty.wav", {}).is_ok());
  auto empty = read_wav(dir / "empty.wav");
  REQUIRE(empty.is_ok());
  CHECK(empty->samples.empty());
}

TEST_CASE("stereo is averaged to mono and other rates are resampled to 48 kHz", "[voice][wav]") {
  WavSpec stereo;
  stereo.channels = 2;
  auto mixed = parse_wav(make_wav(stereo, {1000, 3000, -32768, -32768, 32767, 32767, 100, -100}));
  REQUIRE(mixed.is_ok());
  CHECK(mixed->source_channels == 2);
  CHECK(mixed->samples == std::vector<int16_t>{2000, -32768, 32767, 0});

  WavSpec slow;
  slow.rate = 24000;
  auto doubled = parse_wav(make_wav(slow, {0, 100, 200, -200}));
  REQUIRE(doubled.is_ok());
  CHECK(doubled->source_rate_hz == 24000);
  CHECK(doubled->samples == std::vector<int16_t>{0, 50, 100, 150, 200, 0, -200, -200});

  WavSpec cd;
  cd.rate = 44100;
  auto upsampled = parse_wav(make_wav(cd, std::vector<int16_t>(44100, 1234)));
  REQUIRE(upsampled.is_ok());
  CHECK(upsampled->samples.size() == 48000);  // one second stays one second
  CHECK(upsampled->samples.front() == 1234);
  CHECK(upsampled->samples.back() == 1234);

  WavSpec fast;
  fast.rate = 96000;
  auto halved = parse_wav(make_wav(fast, {0, 10, 20, 30, 40, 50}));
  REQUIRE(halved.is_ok());
  CHECK(halved->samples == std::vector<int16_t>{0, 20, 40});
}

TEST_CASE("formats other than 16-bit PCM mono or stereo are refused with a clear message",
          "[voice][wav]") {
  WavSpec eight_bit;
  eight_bit.bits = 8;
  WavSpec twenty_four;
  twenty_four.bits = 24;
  WavSpec float32;
  float32.format = 3;
  float32.bits = 32;
  WavSpec surround;
  surround.channels = 6;
  for (const WavSpec& spec : {eight_bit, twenty_four, float32, surround}) {
    auto result = parse_wav(make_wav(spec, std::vector<int16_t>(120, 0)));
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().code() == StatusCode::kInvalidArgument);
    CHECK(result.status().message().find("16-bit PCM") != std::string::npos);
  }
}

TEST_CASE("chunks sotto does not know are skipped, odd ones with their pad byte", "[voice][wav]") {
  WavSpec spec;
  append_tag(spec.extra_chunk, "LIST");
  append_le32(spec.extra_chunk, 5);
  spec.extra_chunk.insert(spec.extra_chunk.end(), {'I', 'N', 'F', 'O', 'x', 0});  // + pad
  auto result = parse_wav(make_wav(spec, {1, 2, 3}));
  REQUIRE(result.is_ok());
  CHECK(result->samples == std::vector<int16_t>{1, 2, 3});
}

TEST_CASE("truncated and malformed WAV headers are Corruption, never a crash", "[voice][wav]") {
  const std::vector<int16_t> samples(100, 500);
  const Bytes good = make_wav({}, samples);
  REQUIRE(parse_wav(good).is_ok());

  // Every proper prefix: the header or the data is cut short.
  for (size_t n = 0; n < good.size(); ++n) {
    auto result = parse_wav(ByteView(good).first(n));
    INFO("prefix of " << n << " bytes");
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().code() == StatusCode::kCorruption);
  }

  auto corrupted = [&](size_t offset, std::initializer_list<uint8_t> bytes) {
    Bytes copy = good;
    std::copy(bytes.begin(), bytes.end(), copy.begin() + static_cast<std::ptrdiff_t>(offset));
    return parse_wav(copy).status().code();
  };
  CHECK(corrupted(0, {'R', 'I', 'F', 'X'}) == StatusCode::kCorruption);       // not RIFF
  CHECK(corrupted(8, {'A', 'V', 'I', ' '}) == StatusCode::kCorruption);       // not WAVE
  CHECK(corrupted(12, {'j', 'u', 'n', 'k'}) == StatusCode::kCorruption);      // no fmt chunk
  CHECK(corrupted(16, {0xF0, 0xFF, 0xFF, 0x7F}) == StatusCode::kCorruption);  // fmt overruns
  CHECK(corrupted(16, {8, 0, 0, 0}) == StatusCode::kCorruption);              // fmt too short
  CHECK(corrupted(24, {0, 0, 0, 0}) == StatusCode::kCorruption);              // 0 Hz
  CHECK(corrupted(32, {4, 0}) == StatusCode::kCorruption);                    // block align
  CHECK(corrupted(40, {0xC9, 0, 0, 0}) == StatusCode::kCorruption);  // data overruns the file
  CHECK(corrupted(40, {0xC7, 0, 0, 0}) == StatusCode::kCorruption);  // half a sample

  // A data chunk before any fmt chunk.
  Bytes data_first;
  append_tag(data_first, "RIFF");
  append_le32(data_first, 16);
  append_tag(data_first, "WAVE");
  append_tag(data_first, "data");
  append_le32(data_first, 0);
  CHECK(parse_wav(data_first).status().code() == StatusCode::kCorruption);

  // Every header byte set to every value of interest: any result but a crash (ASan checks reads).
  for (size_t offset = 0; offset < 44; ++offset) {
    for (uint8_t value : {0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF}) {
      Bytes copy = good;
      copy[offset] = value;
      (void)parse_wav(copy);
    }
  }
}

TEST_CASE("a streaming writer's unknown data size means the rest of the file", "[voice][wav]") {
  Bytes file = make_wav({}, {7, 8, 9});
  file[40] = file[41] = file[42] = file[43] = 0xFF;
  file.push_back(0x55);  // a stray odd byte at the end is not half a sample to decode
  auto result = parse_wav(file);
  REQUIRE(result.is_ok());
  CHECK(result->samples == std::vector<int16_t>{7, 8, 9});
}

TEST_CASE("a missing WAV file is an IoError naming the path", "[voice][wav]") {
  test::TempDir dir;
  auto result = read_wav(dir / "absent.wav");
  REQUIRE_FALSE(result.is_ok());
  CHECK(result.status().code() == StatusCode::kIoError);
  CHECK(result.status().message().find("absent.wav") != std::string::npos);
  CHECK(write_wav(dir / "no/such/dir.wav", std::vector<int16_t>(10)).code() ==
        StatusCode::kIoError);
}

TEST_CASE("the alsa-utils speech sample reads as 48 kHz mono", "[voice][wav]") {
  const std::string path = "/usr/share/sounds/alsa/Front_Center.wav";
  SOTTO_SKIP_UNLESS(std::filesystem::exists(path), test::kNoAlsaSpeech);
  auto result = read_wav(path);
  REQUIRE(result.is_ok());
  CHECK(result->source_rate_hz == 48000);
  CHECK(result->source_channels == 1);
  CHECK(result->samples.size() == (std::filesystem::file_size(path) - 44) / 2);
}
