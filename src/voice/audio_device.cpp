// The file and null backends of audio_device.h; the PortAudio backend is in portaudio_device.cpp.
#include "sotto/voice/audio_device.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "sotto/base/bytes.h"
#include "sotto/voice/opus_codec.h"
#include "sotto/voice/wav.h"

namespace sotto::voice {
namespace {

// The message is built only for a wrong frame: read() runs 50 times a second.
Status check_frame(std::span<const int16_t> frame, int frame_samples, const AudioSource& source) {
  if (frame.size() == static_cast<size_t>(frame_samples)) return Status::ok();
  return Status::invalid_argument(source.description() + " reads frames of " +
                                  std::to_string(frame_samples) + " samples, not " +
                                  std::to_string(frame.size()));
}

std::string wav_description(const std::string& path, uint32_t rate_hz, uint16_t channels) {
  return "WAV file " + path + " (" + std::to_string(rate_hz) + " Hz, " +
         (channels == 1 ? "mono" : "stereo") + ")";
}

// Like a microphone: frame k is complete (k + 1) frame durations after the first read. The
// deadline is computed from the frame count, not accumulated, so it does not drift.
class FramePacer {
 public:
  FramePacer(Pacing pacing, int frame_samples) : pacing_(pacing), frame_samples_(frame_samples) {}
  void wait_for_frame() {
    if (pacing_ != Pacing::kRealTime) return;
    const auto now = std::chrono::steady_clock::now();
    if (frames_read_ == 0) start_ = now;
    ++frames_read_;
    const int64_t ns =
        static_cast<int64_t>(frames_read_) * frame_samples_ * 1'000'000'000 / kSampleRateHz;
    std::this_thread::sleep_until(start_ + std::chrono::nanoseconds(ns));
  }

 private:
  Pacing pacing_;
  int frame_samples_;
  uint64_t frames_read_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// A 48 kHz recording, read from the file as it is served: a talk does not begin by reading and
// converting the whole recording (tens of megabytes for a few minutes), and a long one is never
// all in memory.
class WavStreamSource final : public AudioSource {
 public:
  using File = std::unique_ptr<FILE, int (*)(FILE*)>;

  WavStreamSource(const std::string& path, File file, WavLayout layout, int frame_samples,
                  Pacing pacing)
      : description_(wav_description(path, layout.rate_hz, layout.channels)),
        path_(path),
        file_(std::move(file)),
        layout_(layout),
        frame_samples_(frame_samples),
        pacer_(pacing, frame_samples) {}

  Result<bool> read(std::span<int16_t> frame) override {
    SOTTO_RETURN_IF_ERROR(check_frame(frame, frame_samples_, *this));
    const size_t frame_bytes = frame.size() * layout_.block_align;
    if (bytes_.size() - at_ < frame_bytes) SOTTO_RETURN_IF_ERROR(refill(frame_bytes));
    const size_t n = (bytes_.size() - at_) / layout_.block_align;
    if (n == 0) {
      std::fill(frame.begin(), frame.end(), int16_t{0});
      return false;
    }
    const size_t served = std::min(n, frame.size());
    pacer_.wait_for_frame();
    wav_to_mono(ByteView(bytes_).subspan(at_, served * layout_.block_align), layout_.channels,
                frame.first(served));
    std::fill(frame.begin() + static_cast<std::ptrdiff_t>(served), frame.end(), int16_t{0});
    at_ += served * layout_.block_align;
    return true;
  }

  std::string description() const override { return description_; }

 private:
  // ~0.7 s of 48 kHz mono a read: a system call every 34 frames, not every frame.
  static constexpr size_t kChunkBytes = 1 << 16;

  // Keeps what is left of the chunk and reads on, up to the data size the header gave when the
  // file was opened (for a recording still being written, what it held then).
  Status refill(size_t frame_bytes) {
    bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(at_));
    at_ = 0;
    const size_t kept = bytes_.size();
    const uint64_t left = layout_.data_bytes - consumed_;
    const auto want =
        static_cast<size_t>(std::min<uint64_t>(std::max(kChunkBytes, frame_bytes) - kept, left));
    bytes_.resize(kept + want);
    const size_t got = std::fread(bytes_.data() + kept, 1, want, file_.get());
    if (got < want && std::ferror(file_.get())) {
      return Status::io_error("reading " + path_ + ": " + std::strerror(errno));
    }
    consumed_ = got < want ? layout_.data_bytes : consumed_ + got;  // a file cut short: its end
    bytes_.resize(kept + got - (kept + got) % layout_.block_align);
    return Status::ok();
  }

  std::string description_;
  std::string path_;
  File file_;
  WavLayout layout_;
  int frame_samples_;
  FramePacer pacer_;
  uint64_t consumed_ = 0;  // bytes of the data chunk read from the file
  Bytes bytes_;            // read and not yet served from at_ on
  size_t at_ = 0;
};

// Any other rate: the whole recording converted at open (the resampler wants all of it).
class WavSource final : public AudioSource {
 public:
  WavSource(const std::string& path, WavAudio audio, int frame_samples, Pacing pacing)
      : description_(wav_description(path, audio.source_rate_hz, audio.source_channels)),
        audio_(std::move(audio)),
        frame_samples_(frame_samples),
        pacer_(pacing, frame_samples) {}

  Result<bool> read(std::span<int16_t> frame) override {
    SOTTO_RETURN_IF_ERROR(check_frame(frame, frame_samples_, *this));
    const std::vector<int16_t>& samples = audio_.samples;
    const size_t n = std::min(frame.size(), samples.size() - position_);
    if (n == 0) {
      std::fill(frame.begin(), frame.end(), int16_t{0});
      return false;
    }
    pacer_.wait_for_frame();
    const auto from = samples.begin() + static_cast<std::ptrdiff_t>(position_);
    std::copy_n(from, n, frame.begin());
    std::fill(frame.begin() + static_cast<std::ptrdiff_t>(n), frame.end(), int16_t{0});
    position_ += n;
    return true;
  }

  std::string description() const override { return description_; }

 private:
  std::string description_;
  WavAudio audio_;
  int frame_samples_;
  FramePacer pacer_;
  size_t position_ = 0;  // next sample of audio_.samples to hand out
};

// Streams samples to disk as they come. The header is written first with both sizes set to
// 0xFFFFFFFF ("to end of file", which read_wav accepts), so a recording cut short by a crash is
// still readable; close() patches in the real sizes.
class WavSink final : public AudioSink {
 public:
  using File = std::unique_ptr<FILE, int (*)(FILE*)>;

  WavSink(std::string path, File file) : path_(std::move(path)), file_(std::move(file)) {}
  ~WavSink() override { (void)close(); }

  Status write(std::span<const int16_t> frame) override {
    if (!file_) return Status::invalid_argument("writing to " + description() + " after close");
    // RIFF sizes are 32-bit: 36 header bytes plus the data must fit (about 12 hours of audio).
    if (frame.size() * 2 > kMaxDataBytes - data_bytes_) {
      return Status::storage_full(description() + " reached the 4 GiB limit of a WAV file");
    }
    scratch_.clear();
    for (int16_t s : frame) append_le16(scratch_, static_cast<uint16_t>(s));
    // Flushed per frame (50 small writes a second) so the file on disk is always current.
    if (std::fwrite(scratch_.data(), 1, scratch_.size(), file_.get()) != scratch_.size() ||
        std::fflush(file_.get()) != 0) {
      return Status::io_error("writing " + path_ + ": " + std::strerror(errno));
    }
    data_bytes_ += scratch_.size();
    return Status::ok();
  }

  Status close() override {
    if (!file_) return Status::ok();
    Status status = patch_sizes();
    FILE* raw = file_.release();
    if (std::fclose(raw) != 0 && status.is_ok()) {
      status = Status::io_error("closing " + path_ + ": " + std::strerror(errno));
    }
    return status;
  }

  std::string description() const override { return "WAV file " + path_; }

 private:
  static constexpr uint64_t kMaxDataBytes = uint64_t{0xFFFFFFFF} - 36;

  Status patch_sizes() {
    const auto put_le32 = [&](long offset, uint32_t value) {
      Bytes le;
      append_le32(le, value);
      return std::fseek(file_.get(), offset, SEEK_SET) == 0 &&
             std::fwrite(le.data(), 1, le.size(), file_.get()) == le.size();
    };
    const auto data = static_cast<uint32_t>(data_bytes_);
    if (!put_le32(4, 36 + data) || !put_le32(40, data) || std::fflush(file_.get()) != 0) {
      return Status::io_error("finishing " + path_ + ": " + std::strerror(errno));
    }
    return Status::ok();
  }

  std::string path_;
  File file_;
  uint64_t data_bytes_ = 0;
  Bytes scratch_;
};

class NullSource final : public AudioSource {
 public:
  explicit NullSource(int frame_samples) : frame_samples_(frame_samples) {}
  Result<bool> read(std::span<int16_t> frame) override {
    SOTTO_RETURN_IF_ERROR(check_frame(frame, frame_samples_, *this));
    std::fill(frame.begin(), frame.end(), int16_t{0});
    return true;
  }
  std::string description() const override { return "null source (silence)"; }

 private:
  int frame_samples_;
};

class NullSink final : public AudioSink {
 public:
  Status write(std::span<const int16_t>) override { return Status::ok(); }
  Status close() override { return Status::ok(); }
  std::string description() const override { return "null sink (discards)"; }
};

}  // namespace

AudioDeviceStats& AudioDeviceStats::operator+=(const AudioDeviceStats& other) {
  callbacks += other.callbacks;
  xruns += other.xruns;
  input_overflows += other.input_overflows;
  input_underflows += other.input_underflows;
  output_overflows += other.output_overflows;
  output_underflows += other.output_underflows;
  priming_callbacks += other.priming_callbacks;
  longest_callback_ns = std::max(longest_callback_ns, other.longest_callback_ns);
  peak_sample = std::max(peak_sample, other.peak_sample);
  return *this;
}

Result<std::unique_ptr<AudioSource>> open_wav_source(const std::string& path, int frame_samples,
                                                     Pacing pacing) {
  if (frame_samples <= 0) {
    return Status::invalid_argument("audio frame must be at least one sample, not " +
                                    std::to_string(frame_samples));
  }
  WavStreamSource::File file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return Status::io_error("opening " + path + ": " + std::strerror(errno));
  // Unbuffered: the source reads its own chunks, stdio's buffer would only copy them again.
  std::setvbuf(file.get(), nullptr, _IONBF, 0);
  // The header is in the first few kilobytes of any recording; a file whose metadata chunks run
  // past them is read whole, like one at another rate.
  constexpr long kHeadBytes = 1 << 16;
  long size = -1;
  if (std::fseek(file.get(), 0, SEEK_END) == 0) size = std::ftell(file.get());
  if (size >= 0 && std::fseek(file.get(), 0, SEEK_SET) == 0) {
    Bytes head(static_cast<size_t>(std::min(size, kHeadBytes)));
    head.resize(std::fread(head.data(), 1, head.size(), file.get()));
    auto layout = locate_wav_data(head, static_cast<uint64_t>(size));
    if (layout.is_ok() && layout.value().rate_hz == kSampleRateHz &&
        std::fseek(file.get(), static_cast<long>(layout.value().data_offset), SEEK_SET) == 0) {
      return std::unique_ptr<AudioSource>(std::make_unique<WavStreamSource>(
          path, std::move(file), layout.value(), frame_samples, pacing));
    }
  }
  SOTTO_ASSIGN_OR_RETURN(WavAudio audio, read_wav(path));
  return std::unique_ptr<AudioSource>(
      std::make_unique<WavSource>(path, std::move(audio), frame_samples, pacing));
}

Result<std::unique_ptr<AudioSink>> open_wav_sink(const std::string& path) {
  WavSink::File file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) return Status::io_error("creating " + path + ": " + std::strerror(errno));
  SOTTO_ASSIGN_OR_RETURN(Bytes header, encode_wav({}));
  // RIFF size at offset 4, data size at offset 40: "unknown" until close().
  std::fill_n(header.begin() + 4, 4, uint8_t{0xFF});
  std::fill_n(header.begin() + 40, 4, uint8_t{0xFF});
  if (std::fwrite(header.data(), 1, header.size(), file.get()) != header.size() ||
      std::fflush(file.get()) != 0) {
    return Status::io_error("writing " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<AudioSink>(std::make_unique<WavSink>(path, std::move(file)));
}

std::unique_ptr<AudioSource> null_source(int frame_samples) {
  return std::make_unique<NullSource>(frame_samples);
}

std::unique_ptr<AudioSink> null_sink() {
  return std::make_unique<NullSink>();
}

}  // namespace sotto::voice
