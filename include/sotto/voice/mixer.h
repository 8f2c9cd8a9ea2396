// Mixer: sums the decoded frames of simultaneous talkers into the one frame the listener hears.
//
// Per tick the caller add()s each active talker's frame, then calls mix(). A talker that was not
// in the previous tick starts with a fade-in over the first `fade_samples`; a frame added with
// `last = true` ends with a fade-out over its final `fade_samples`, so talk spurts do not start or
// stop with a click. Every other frame of a lone talker passes through sample for sample.
//
// Clipping protection is a peak limiter on the sum: when a sample would exceed int16 full scale,
// the gain drops at once to exactly what keeps it at full scale (no overflow, no hard clipping of
// the waveform), then recovers smoothly towards 1 with a `release_ms` time constant.
//
// Thread-safety: none; owned by the playout thread.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/status.h"

namespace sotto::voice {

struct MixerOptions {
  int frame_samples = 960;  // 20 ms at 48 kHz
  int fade_samples = 240;   // 5 ms at 48 kHz
  int release_ms = 50;      // limiter gain recovery time constant
};

class Mixer {
 public:
  explicit Mixer(const MixerOptions& options = {});

  // One talker's frame for this tick; `talker` is any stable name (e.g. the identity key).
  // InvalidArgument when the frame is not frame_samples long or the talker was already added
  // this tick.
  Status add(const std::string& talker, std::span<const int16_t> frame, bool last = false);

  // The mix of this tick's frames (silence when none) into `out`, and the start of a new tick.
  // REQUIRES: out.size() == frame_samples.
  void mix(std::span<int16_t> out);
  std::vector<int16_t> mix();

  // Limiter gain after the last mix(): 1.0 when nothing needed limiting recently.
  double gain() const { return gain_; }
  int frame_samples() const { return options_.frame_samples; }

 private:
  MixerOptions options_;
  std::vector<int32_t> sum_;          // this tick's sum; an int32 holds 65536 int16 talkers
  std::set<std::string> this_tick_;   // talkers added this tick
  std::set<std::string> continuing_;  // talkers whose next frame continues a spurt (no fade-in)
  std::set<std::string> continuing_next_;
  double gain_ = 1.0;
  double release_coef_;
};

}  // namespace sotto::voice
