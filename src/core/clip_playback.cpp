#include "src/core/clip_playback.h"

#include <chrono>
#include <filesystem>
#include <utility>

#include "sotto/voice/clip.h"
#include "sotto/voice/opus_codec.h"

namespace sotto::core {
namespace {

bool is_wav_file(const std::string& spec) {
  return std::filesystem::path(spec).extension() == ".wav";
}

}  // namespace

ClipPlayback::ClipPlayback(OpenSink open_sink) : open_sink_(std::move(open_sink)) {}

ClipPlayback::~ClipPlayback() {
  stop();
  if (player_.joinable()) player_.join();
}

Result<PlaybackState> ClipPlayback::start(const ArchivedClip& clip) {
  SOTTO_ASSIGN_OR_RETURN(std::vector<Bytes> packets, voice::decode_packets(clip.clip.packets));
  if (packets.empty()) return Status::corruption("the voice clip holds no frames");
  stop();
  if (player_.joinable()) player_.join();
  const int frame_ms = static_cast<int>(clip.clip.frame_ms);
  PlaybackState started;
  started.playing = true;
  started.message = clip.message;
  started.signature_valid = clip.signature_valid;
  started.total_ms = static_cast<int64_t>(packets.size()) * frame_ms;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = started;
    stop_ = false;
  }
  player_ = std::thread([this, packets = std::move(packets), frame_ms]() mutable {
    play(std::move(packets), frame_ms);
  });
  return started;
}

void ClipPlayback::stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!state_.playing) return;
  stop_ = true;
  stop_asked_.notify_all();
}

PlaybackState ClipPlayback::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

void ClipPlayback::finish(const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  state_.playing = false;
  state_.stopped = stop_;
  state_.error = error;
}

void ClipPlayback::play(std::vector<Bytes> packets, int frame_ms) {
  auto sink = open_sink_(voice::frame_samples_for(frame_ms));
  if (!sink.is_ok()) return finish(sink.status().message());
  auto decoder = voice::OpusDecoder::create({frame_ms});
  if (!decoder.is_ok()) return finish(decoder.status().message());
  const auto period = std::chrono::milliseconds(frame_ms);
  auto due = std::chrono::steady_clock::now();
  std::string error;
  for (size_t i = 0; i < packets.size(); ++i) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (i >= kLeadFrames) {
        due += period;
        stop_asked_.wait_until(lock, due, [this] { return stop_; });
      }
      if (stop_) break;
    }
    auto frame = decoder.value().decode(packets[i]);
    if (!frame.is_ok()) frame = decoder.value().conceal();
    Status written = frame.is_ok() ? sink.value()->write(frame.value()) : frame.status();
    if (!written.is_ok()) {
      error = written.message();
      break;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    state_.elapsed_ms = static_cast<int64_t>(i + 1) * frame_ms;
  }
  const Status closed = sink.value()->close();
  if (error.empty() && !closed.is_ok()) error = closed.message();
  finish(error);
}

Result<std::unique_ptr<voice::AudioSink>> open_playback_sink(const std::string& playback_out,
                                                             const std::string& audio_out,
                                                             int frame_samples) {
  std::string spec = playback_out;
  if (spec.empty() && !audio_out.empty() && !is_wav_file(audio_out) &&
      !std::filesystem::is_directory(audio_out)) {
    spec = audio_out;
  }
  if (is_wav_file(spec)) return voice::open_wav_sink(spec);
  auto device = voice::open_device_sink(spec, frame_samples);
  // The device's own advice (--audio-out FILE.wav|DIR) is for live voice; a clip has another way.
  const std::string advice = "; use --audio-out FILE.wav|DIR instead";
  std::string why = device.status().message();
  const size_t at = why.rfind(advice);
  if (device.is_ok() || at == std::string::npos) return device;
  return Status::unavailable(why.erase(at) + "; write the clip to a file: /play ID --wav FILE");
}

}  // namespace sotto::core
