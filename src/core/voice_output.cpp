#include "src/core/voice_output.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>

#include "sotto/voice/clip.h"
#include "sotto/voice/opus_codec.h"
#include "sotto/voice/wav.h"

namespace sotto::core {
namespace {

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    out.push_back(safe ? c : '_');
  }
  return out.empty() ? "_" : out;
}

Status write_wav_atomically(const std::string& path, std::span<const int16_t> samples) {
  const std::string partial = path + ".part";
  SOTTO_RETURN_IF_ERROR(voice::write_wav(partial, samples));
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    return Status::io_error("cannot rename " + partial);
  }
  return Status::ok();
}

Result<std::vector<int16_t>> render_clip(const std::vector<Bytes>& packets, int frame_ms) {
  SOTTO_ASSIGN_OR_RETURN(voice::OpusDecoder decoder, voice::OpusDecoder::create({frame_ms}));
  voice::Mixer mixer(voice::MixerOptions{voice::frame_samples_for(frame_ms)});
  std::vector<int16_t> out;
  for (size_t i = 0; i < packets.size(); ++i) {
    auto pcm = decoder.decode(packets[i]);
    if (!pcm.is_ok()) pcm = decoder.conceal();
    if (!pcm.is_ok()) return pcm.status();
    SOTTO_RETURN_IF_ERROR(mixer.add("clip", pcm.value(), i + 1 == packets.size()));
    const auto mixed = mixer.mix();
    out.insert(out.end(), mixed.begin(), mixed.end());
  }
  return out;
}

}  // namespace

VoiceOutput::VoiceOutput(std::string audio_out, int frame_ms)
    : audio_out_(std::move(audio_out)), frame_ms_(frame_ms) {}

VoiceOutput::~VoiceOutput() {
  if (device_) (void)device_->close();
}

Status VoiceOutput::open() {
  if (audio_out_.empty()) return Status::ok();
  if (is_directory(audio_out_)) {
    kind_ = Kind::kFiles;
    return Status::ok();
  }
  const int frame_samples = voice::frame_samples_for(frame_ms_);
  if (ends_with(audio_out_, ".wav")) {
    SOTTO_ASSIGN_OR_RETURN(device_, voice::open_wav_sink(audio_out_));
  } else {
    SOTTO_ASSIGN_OR_RETURN(device_, voice::open_device_sink(audio_out_, frame_samples));
  }
  mixer_ = std::make_unique<voice::Mixer>(voice::MixerOptions{frame_samples});
  kind_ = Kind::kDevice;
  return Status::ok();
}

voice::AudioDeviceStats VoiceOutput::device_stats() const {
  return device_ ? device_->device_stats() : voice::AudioDeviceStats{};
}

Result<std::string> VoiceOutput::write_file(const VoiceStats& stats,
                                            std::span<const int16_t> samples) const {
  const std::string path = wav_path(stats);
  SOTTO_RETURN_IF_ERROR(write_wav_atomically(path, samples));
  return path;
}

Result<std::string> VoiceOutput::write_clip(const VoiceStats& stats,
                                            const storage::VoiceClipRecord& clip) const {
  SOTTO_ASSIGN_OR_RETURN(auto packets, voice::decode_packets(clip.packets));
  SOTTO_ASSIGN_OR_RETURN(auto pcm, render_clip(packets, static_cast<int>(clip.frame_ms)));
  return write_file(stats, pcm);
}

void VoiceOutput::add(const std::string& talker, std::span<const int16_t> frame, bool last) {
  (void)mixer_->add(talker, frame, last);
  mixed_any_ = true;
}

Status VoiceOutput::play_mix(int64_t now_ms) {
  if (!mixed_any_) {
    // Nothing playing: no beat to keep. The next frame goes out as soon as it is decoded and
    // starts a beat of its own, instead of waiting for the phase of a beat set by an earlier
    // frame (up to a whole frame period, for the rest of the talk spurt).
    device_due_ms_ = now_ms;
    return Status::ok();
  }
  device_due_ms_ = now_ms + frame_ms_;
  mixed_any_ = false;
  const auto mixed = mixer_->mix();
  return device_->write(mixed);
}

std::string VoiceOutput::wav_path(const VoiceStats& stats) const {
  const std::time_t started = static_cast<std::time_t>(stats.started_at_ms / 1000);
  std::tm local{};
  localtime_r(&started, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  return audio_out_ + "/" + stamp + "-" + file_safe(stats.channel) + "-" +
         file_safe(stats.talker_name) + "-" + stats.id.substr(0, 12) + ".wav";
}

}  // namespace sotto::core
