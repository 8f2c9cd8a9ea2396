#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "sotto/voice/audio_device.h"
#include "sotto/voice/wav.h"
#include "tests/support/alsa_config.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using namespace sotto::voice;

namespace {

// A recording every Debian machine with alsa-utils has (`make deps` installs it).
const std::string kAlsaSample = "/usr/share/sounds/alsa/Front_Center.wav";

// Reads frames until the source reports end of input; the frames read before that, in order.
std::vector<std::vector<int16_t>> read_all(AudioSource& source, int frame_samples) {
  std::vector<std::vector<int16_t>> frames;
  for (;;) {
    std::vector<int16_t> frame(static_cast<size_t>(frame_samples), 12345);
    auto more = source.read(frame);
    REQUIRE(more.is_ok());
    if (!more.value()) {
      CHECK(std::all_of(frame.begin(), frame.end(), [](int16_t s) { return s == 0; }));
      return frames;
    }
    frames.push_back(std::move(frame));
    REQUIRE(frames.size() < 100'000);  // a source that never ends is a bug here
  }
}

// A 16-bit PCM WAV built field by field, independent of the code under test.
Bytes make_wav(uint16_t channels, uint32_t rate, const std::vector<int16_t>& interleaved) {
  Bytes file;
  append_tag(file, "RIFF");
  append_le32(file, static_cast<uint32_t>(36 + interleaved.size() * 2));
  append_tag(file, "WAVE");
  append_tag(file, "fmt ");
  append_le32(file, 16);
  append_le16(file, 1);
  append_le16(file, channels);
  append_le32(file, rate);
  append_le32(file, rate * channels * 2);
  append_le16(file, static_cast<uint16_t>(channels * 2));
  append_le16(file, 16);
  append_tag(file, "data");
  append_le32(file, static_cast<uint32_t>(interleaved.size() * 2));
  for (int16_t s : interleaved) append_le16(file, static_cast<uint16_t>(s));
  return file;
}

std::vector<int16_t> ramp(size_t n) {
  std::vector<int16_t> samples(n);
  for (size_t i = 0; i < n; ++i) samples[i] = static_cast<int16_t>((i * 37) % 20000 - 10000);
  return samples;
}

}  // namespace

TEST_CASE("a WAV source serves a real recording frame by frame, the last one zero padded",
          "[voice][audio]") {
  INFO(kAlsaSample << " comes with alsa-utils: run `make deps`");
  REQUIRE(std::filesystem::exists(kAlsaSample));
  auto expected = read_wav(kAlsaSample);
  REQUIRE(expected.is_ok());
  const std::vector<int16_t>& samples = expected->samples;
  REQUIRE(samples.size() > 960);

  for (int frame_samples : {960, 480, 7}) {
    auto source = open_wav_source(kAlsaSample, frame_samples);
    REQUIRE(source.is_ok());
    CHECK((*source)->description().find(kAlsaSample) != std::string::npos);
    const auto frames = read_all(**source, frame_samples);
    const size_t n = static_cast<size_t>(frame_samples);
    CHECK(frames.size() == (samples.size() + n - 1) / n);
    std::vector<int16_t> joined;
    for (const auto& frame : frames) {
      CHECK(frame.size() == n);
      joined.insert(joined.end(), frame.begin(), frame.end());
    }
    REQUIRE(joined.size() >= samples.size());
    CHECK(std::equal(samples.begin(), samples.end(), joined.begin()));
    CHECK(std::all_of(joined.begin() + static_cast<std::ptrdiff_t>(samples.size()), joined.end(),
                      [](int16_t s) { return s == 0; }));
    // End of input stays end of input.
    std::vector<int16_t> frame(n);
    auto again = (*source)->read(frame);
    REQUIRE(again.is_ok());
    CHECK_FALSE(again.value());
  }
}

TEST_CASE("a WAV source converts 24 kHz stereo to 48 kHz mono like read_wav", "[voice][audio]") {
  test::TempDir dir;
  std::vector<int16_t> interleaved;
  for (int i = 0; i < 1000; ++i) {
    interleaved.push_back(static_cast<int16_t>(i * 20));
    interleaved.push_back(static_cast<int16_t>(-i * 10));
  }
  test::write_file(dir / "in.wav", make_wav(2, 24000, interleaved));
  auto expected = read_wav(dir / "in.wav");
  REQUIRE(expected.is_ok());
  REQUIRE(expected->samples.size() == 2000);

  auto source = open_wav_source(dir / "in.wav", 960);
  REQUIRE(source.is_ok());
  const auto frames = read_all(**source, 960);
  REQUIRE(frames.size() == 3);  // 960 + 960 + 80 samples and 880 zeros
  std::vector<int16_t> joined;
  for (const auto& frame : frames) joined.insert(joined.end(), frame.begin(), frame.end());
  CHECK(std::vector<int16_t>(joined.begin(), joined.begin() + 2000) == expected->samples);
  CHECK(std::all_of(joined.begin() + 2000, joined.end(), [](int16_t s) { return s == 0; }));
}

// Every sample the source serves, joined; end-of-input padding dropped at `expected` samples.
std::vector<int16_t> served(AudioSource& source, size_t expected) {
  std::vector<int16_t> joined;
  for (const auto& frame : read_all(source, 960))
    joined.insert(joined.end(), frame.begin(), frame.end());
  REQUIRE(joined.size() >= expected);
  CHECK(std::all_of(joined.begin() + static_cast<std::ptrdiff_t>(expected), joined.end(),
                    [](int16_t s) { return s == 0; }));
  joined.resize(expected);
  return joined;
}

TEST_CASE(
    "a 48 kHz WAV source reads from the file as it serves: stereo averaged, a long header, a "
    "recording still being written; a truncated one refused at open",
    "[voice][audio]") {
  test::TempDir dir;
  std::vector<int16_t> interleaved;
  for (int i = 0; i < 3000; ++i) {
    interleaved.push_back(static_cast<int16_t>(i * 7));
    interleaved.push_back(static_cast<int16_t>(-i * 3));
  }
  const Bytes stereo = make_wav(2, 48000, interleaved);
  test::write_file(dir / "stereo.wav", stereo);
  auto expected = read_wav(dir / "stereo.wav");
  REQUIRE(expected.is_ok());
  REQUIRE(expected->samples.size() == 3000);
  {
    auto source = open_wav_source(dir / "stereo.wav", 960);
    REQUIRE(source.is_ok());
    CHECK((*source)->description().find("48000 Hz, stereo") != std::string::npos);
    // Served from the file, not a copy taken at open: what is on disk when read is served.
    test::write_file(dir / "stereo.wav", Bytes(stereo.begin(), stereo.begin() + 44 + 4 * 1000));
    CHECK(served(**source, 1000) ==
          std::vector<int16_t>(expected->samples.begin(), expected->samples.begin() + 1000));
  }

  // Metadata (a LIST chunk) past the first 64 KiB before the samples: read whole instead.
  Bytes tagged(stereo.begin(), stereo.begin() + 36);
  append_tag(tagged, "LIST");
  append_le32(tagged, 100'000);
  tagged.resize(tagged.size() + 100'000, 'x');
  tagged.insert(tagged.end(), stereo.begin() + 36, stereo.end());
  test::write_file(dir / "tagged.wav", tagged);
  auto long_header = open_wav_source(dir / "tagged.wav", 960);
  REQUIRE(long_header.is_ok());
  CHECK(served(**long_header, 3000) == expected->samples);

  // A recording as WavSink leaves it while it goes on: sizes "to end of file".
  const std::vector<int16_t> samples = ramp(960 * 4);
  auto sink = open_wav_sink(dir / "live.wav");
  REQUIRE(sink.is_ok());
  REQUIRE((*sink)->write(samples).is_ok());
  auto live = open_wav_source(dir / "live.wav", 960);
  REQUIRE(live.is_ok());
  CHECK(served(**live, samples.size()) == samples);

  // A data chunk longer than the file: Corruption at open, as read_wav says.
  test::write_file(dir / "cut.wav", Bytes(stereo.begin(), stereo.end() - 1000));
  CHECK(open_wav_source(dir / "cut.wav", 960).status().code() == StatusCode::kCorruption);
  CHECK(read_wav(dir / "cut.wav").status().code() == StatusCode::kCorruption);
}

TEST_CASE("a WAV source and read_wav agree on every prefix of a file, cut anywhere",
          "[voice][audio]") {
  test::TempDir dir;
  std::vector<int16_t> interleaved;
  for (int i = 0; i < 200; ++i) {
    interleaved.push_back(static_cast<int16_t>(i * 101));
    interleaved.push_back(static_cast<int16_t>(-i * 53));
  }
  for (const uint32_t rate : {48000u, 16000u}) {  // served from the file; converted whole
    const Bytes file = make_wav(2, rate, interleaved);
    for (size_t n = 0; n <= file.size(); n += (n < 64 ? 1 : 37)) {
      INFO(rate << " Hz, first " << n << " of " << file.size() << " bytes");
      test::write_file(dir / "cut.wav", ByteView(file).first(n));
      auto whole = read_wav(dir / "cut.wav");
      auto source = open_wav_source(dir / "cut.wav", 960);
      REQUIRE(source.is_ok() == whole.is_ok());
      if (!whole.is_ok()) {
        CHECK(source.status().code() == whole.status().code());
        continue;
      }
      CHECK(served(**source, whole->samples.size()) == whole->samples);
    }
  }
}

TEST_CASE("a WAV source refuses bad frame sizes and unreadable files", "[voice][audio]") {
  test::TempDir dir;
  REQUIRE(write_wav(dir / "a.wav", ramp(100)).is_ok());
  CHECK(open_wav_source(dir / "a.wav", 0).status().code() == StatusCode::kInvalidArgument);
  CHECK(open_wav_source(dir / "missing.wav", 960).status().code() == StatusCode::kIoError);
  test::write_file(dir / "junk.wav", std::string("not a wav file at all"));
  CHECK(open_wav_source(dir / "junk.wav", 960).status().code() == StatusCode::kCorruption);

  auto source = open_wav_source(dir / "a.wav", 960);
  REQUIRE(source.is_ok());
  std::vector<int16_t> wrong(480);
  CHECK((*source)->read(wrong).status().code() == StatusCode::kInvalidArgument);

  REQUIRE(write_wav(dir / "empty.wav", {}).is_ok());
  auto empty = open_wav_source(dir / "empty.wav", 960);
  REQUIRE(empty.is_ok());
  CHECK(read_all(**empty, 960).empty());
}

TEST_CASE("a paced WAV source hands out frames no faster than real time", "[voice][audio]") {
  test::TempDir dir;
  REQUIRE(write_wav(dir / "a.wav", ramp(480 * 3)).is_ok());
  auto source = open_wav_source(dir / "a.wav", 480, Pacing::kRealTime);  // 10 ms frames
  REQUIRE(source.is_ok());
  const auto start = std::chrono::steady_clock::now();
  CHECK(read_all(**source, 480).size() == 3);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(30));
}

TEST_CASE("a WAV sink writes exactly the samples it was given", "[voice][audio]") {
  test::TempDir dir;
  const std::vector<int16_t> samples = ramp(960 * 5 + 123);
  auto sink = open_wav_sink(dir / "out.wav");
  REQUIRE(sink.is_ok());
  CHECK((*sink)->description().find(dir / "out.wav") != std::string::npos);
  for (size_t at = 0; at < samples.size(); at += 960) {
    const size_t n = std::min<size_t>(960, samples.size() - at);
    REQUIRE((*sink)->write(std::span(samples).subspan(at, n)).is_ok());
  }
  REQUIRE((*sink)->close().is_ok());
  CHECK((*sink)->close().is_ok());  // twice is fine
  CHECK((*sink)->write(samples).code() == StatusCode::kInvalidArgument);

  // Byte for byte what write_wav makes: the final header has the real sizes.
  REQUIRE(write_wav(dir / "expected.wav", samples).is_ok());
  CHECK(test::read_file(dir / "out.wav") == test::read_file(dir / "expected.wav"));
  auto back = read_wav(dir / "out.wav");
  REQUIRE(back.is_ok());
  CHECK(back->samples == samples);
}

TEST_CASE("a WAV sink never closed still leaves a readable recording", "[voice][audio]") {
  test::TempDir dir;
  const std::vector<int16_t> samples = ramp(960 * 3);
  auto sink = open_wav_sink(dir / "out.wav");
  REQUIRE(sink.is_ok());
  REQUIRE((*sink)->write(samples).is_ok());
  // As a crash would leave it: header sizes "unknown", data up to date.
  auto partial = read_wav(dir / "out.wav");
  REQUIRE(partial.is_ok());
  CHECK(partial->samples == samples);
  // Destruction closes and patches the header.
  sink->reset();
  auto back = read_wav(dir / "out.wav");
  REQUIRE(back.is_ok());
  CHECK(back->samples == samples);
  REQUIRE(write_wav(dir / "expected.wav", samples).is_ok());
  CHECK(test::read_file(dir / "out.wav") == test::read_file(dir / "expected.wav"));
}

TEST_CASE("a WAV sink in a missing directory is an IoError", "[voice][audio]") {
  test::TempDir dir;
  auto sink = open_wav_sink(dir / "no/such/dir/out.wav");
  CHECK(sink.status().code() == StatusCode::kIoError);
  CHECK(sink.status().message().find("no/such/dir") != std::string::npos);
}

TEST_CASE("the null source is endless silence and the null sink takes anything", "[voice][audio]") {
  auto source = null_source(960);
  for (int i = 0; i < 100; ++i) {
    std::vector<int16_t> frame(960, 7);
    auto more = source->read(frame);
    REQUIRE(more.is_ok());
    CHECK(more.value());
    CHECK(std::all_of(frame.begin(), frame.end(), [](int16_t s) { return s == 0; }));
  }
  std::vector<int16_t> wrong(10);
  CHECK(source->read(wrong).status().code() == StatusCode::kInvalidArgument);
  CHECK(source->dropped_samples() == 0);

  auto sink = null_sink();
  CHECK(sink->write(ramp(960)).is_ok());
  CHECK(sink->write({}).is_ok());
  CHECK(sink->close().is_ok());
  CHECK_FALSE(sink->description().empty());
}

TEST_CASE("with no audio device, listing finds none and the default device fails in one line",
          "[voice][audio]") {
  test::AlsaConfig alsa;  // no device, sound card or not
  auto devices = list_audio_devices();
  REQUIRE(devices.is_ok());
  CHECK(devices->empty());
  // The library is released and initialised again between calls.
  CHECK(list_audio_devices().is_ok());

  auto source = open_device_source("", 960);
  REQUIRE_FALSE(source.is_ok());
  CHECK(source.status().code() == StatusCode::kUnavailable);
  CHECK(source.status().message().find("--audio-in FILE.wav") != std::string::npos);
  CHECK(source.status().message().find('\n') == std::string::npos);
  auto sink = open_device_sink("", 960);
  REQUIRE_FALSE(sink.is_ok());
  CHECK(sink.status().code() == StatusCode::kUnavailable);
  CHECK(sink.status().message().find("--audio-out FILE.wav|DIR") != std::string::npos);
}

TEST_CASE("a device that cannot be opened fails with one line naming the file alternative",
          "[voice][audio]") {
  test::AlsaConfig alsa(ramp(960));  // one device, and no other name or number
  for (const std::string spec : {"no-such-device-3f9a", "9999"}) {
    auto source = open_device_source(spec, 960);
    REQUIRE_FALSE(source.is_ok());
    const std::string message = source.status().message();
    CHECK(message.find("--audio-in FILE.wav") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
    auto sink = open_device_sink(spec, 960);
    REQUIRE_FALSE(sink.is_ok());
    CHECK(sink.status().message().find("--audio-out FILE.wav") != std::string::npos);
  }
  CHECK(open_device_source("", 0).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a device is listed, opened by name and number, records its input and plays out",
          "[voice][audio]") {
  // Samples 1, 2, ... 20000, 1, 2, ...: any run of them shows where it came from.
  constexpr int kPeriod = 20000;
  std::vector<int16_t> recording(static_cast<size_t>(kPeriod) * 10);
  for (size_t i = 0; i < recording.size(); ++i) {
    recording[i] = static_cast<int16_t>(i % kPeriod + 1);
  }
  test::AlsaConfig alsa(recording);
  auto devices = list_audio_devices();
  REQUIRE(devices.is_ok());
  REQUIRE(devices->size() == 1);
  const AudioDeviceInfo& device = devices->front();
  CHECK(device.name == test::AlsaConfig::kDevice);
  CHECK(device.max_input_channels > 0);
  CHECK(device.max_output_channels > 0);

  for (const std::string& spec :
       {std::string(test::AlsaConfig::kDevice), std::to_string(device.index), std::string()}) {
    INFO("device '" << spec << "'");
    auto source = open_device_source(spec, 960);
    REQUIRE(source.is_ok());
    CHECK((*source)->description().find(test::AlsaConfig::kDevice) != std::string::npos);
    // The device has no clock of its own (alsa_config.h): it fills the ring at once, so the
    // first frame read is recorded audio, in the order recorded.
    std::vector<int16_t> frame(960);
    auto more = (*source)->read(frame);
    REQUIRE(more.is_ok());
    CHECK(more.value());
    CHECK(frame.front() != 0);
    bool in_order = true;
    for (size_t i = 1; i < frame.size(); ++i) {
      in_order = in_order && frame[i] == frame[i - 1] % kPeriod + 1;
    }
    CHECK(in_order);
    // The callback counted itself and saw the recording go by.
    const AudioDeviceStats stats = (*source)->device_stats();
    CHECK(stats.callbacks > 0);
    CHECK(stats.peak_sample >= frame.front());
  }

  // Played: three frames (the queue holds four), each in full and in order among the silence
  // the device plays while nothing is queued.
  const std::vector<int16_t> samples = ramp(960 * 3);
  {
    auto sink = open_device_sink(test::AlsaConfig::kDevice, 960);
    REQUIRE(sink.is_ok());
    for (size_t at = 0; at < samples.size(); at += 960) {
      REQUIRE((*sink)->write(std::span(samples).subspan(at, 960)).is_ok());
    }
    REQUIRE((*sink)->close().is_ok());
    CHECK((*sink)->dropped_samples() == 0);
    const AudioDeviceStats stats = (*sink)->device_stats();
    CHECK(stats.callbacks >= 3);
    CHECK(stats.peak_sample == 10000);  // ramp()'s loudest: -10000
  }
  const std::vector<int16_t> played = alsa.played();
  auto from = played.begin();
  for (size_t at = 0; at < samples.size(); at += 960) {
    INFO("frame " << at / 960);
    const auto frame = samples.begin() + static_cast<std::ptrdiff_t>(at);
    from = std::search(from, played.end(), frame, frame + 960);
    REQUIRE(from != played.end());
  }
}
