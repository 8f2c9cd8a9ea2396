// VoiceOutput: where received voice goes (VoiceOptions::audio_out) — nowhere (it is still
// archived), one WAV file per transmission in a directory, or a device (or one WAV file) that
// plays the talkers mixed, one frame period at a time.
//
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "sotto/storage/voice_clip_repo.h"
#include "sotto/voice/audio_device.h"
#include "sotto/voice/mixer.h"

namespace sotto::core {

class VoiceOutput {
 public:
  enum class Kind { kNone, kFiles, kDevice };

  VoiceOutput(std::string audio_out, int frame_ms);
  ~VoiceOutput();
  // Opens what audio_out names. InvalidArgument/Unavailable with a message that says what to use
  // instead.
  Status open();
  Kind kind() const { return kind_; }

  // kFiles: `samples` as the transmission's file, written whole (beside, then renamed: a watcher
  // of the directory sees whole files only). Returns its path.
  Result<std::string> write_file(const VoiceStats& stats, std::span<const int16_t> samples) const;
  // kFiles: a clip from the archive, decoded with the edge fades a live listener hears.
  Result<std::string> write_clip(const VoiceStats& stats,
                                 const storage::VoiceClipRecord& clip) const;

  // kDevice: when the next mixed frame is due (monotonic ms).
  int64_t device_due_ms() const { return device_due_ms_; }
  // kDevice: one talker's frame for the mix of this period.
  void add(const std::string& talker, std::span<const int16_t> frame, bool last);
  // kDevice: plays what was added since the last one (nothing when nothing was), and sets the
  // next period's beat.
  Status play_mix(int64_t now_ms);
  // kDevice: the device's callbacks so far; all zero otherwise.
  voice::AudioDeviceStats device_stats() const;

 private:
  std::string wav_path(const VoiceStats& stats) const;

  std::string audio_out_;
  int frame_ms_;
  Kind kind_ = Kind::kNone;
  std::unique_ptr<voice::AudioSink> device_;
  std::unique_ptr<voice::Mixer> mixer_;
  bool mixed_any_ = false;
  int64_t device_due_ms_ = 0;
};

}  // namespace sotto::core
