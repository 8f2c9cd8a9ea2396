#include "sotto/voice/mixer.h"

#include <algorithm>
#include <cmath>

#include "sotto/voice/opus_codec.h"

namespace sotto::voice {

namespace {
constexpr double kFullScale = 32767.0;
}  // namespace

Mixer::Mixer(const MixerOptions& options) : options_(options) {
  options_.frame_samples = std::max(options_.frame_samples, 1);
  options_.fade_samples = std::clamp(options_.fade_samples, 0, options_.frame_samples);
  sum_.assign(static_cast<size_t>(options_.frame_samples), 0);
  // One-pole recovery: after release_ms the remaining gain reduction has shrunk to 1/e.
  const double release_samples = std::max(1.0, options_.release_ms * kSampleRateHz / 1000.0);
  release_coef_ = 1.0 - std::exp(-1.0 / release_samples);
}

Status Mixer::add(const std::string& talker, std::span<const int16_t> frame, bool last) {
  const size_t n = sum_.size();
  if (frame.size() != n) {
    return Status::invalid_argument("mixer wants frames of " + std::to_string(n) +
                                    " samples, got " + std::to_string(frame.size()));
  }
  if (!this_tick_.insert(talker).second) {
    return Status::invalid_argument("talker " + talker + " added twice in one mixer tick");
  }
  const size_t fade = static_cast<size_t>(options_.fade_samples);
  const bool fade_in = !continuing_.contains(talker);
  for (size_t i = 0; i < n; ++i) {
    int64_t s = frame[i];
    // Linear ramps: sample i of the fade-in has gain i / fade, so the spurt starts from 0; the
    // last sample of a fade-out has gain 0.
    if (fade_in && i < fade) s = s * static_cast<int64_t>(i) / static_cast<int64_t>(fade);
    if (last && i + fade >= n) {
      s = s * static_cast<int64_t>(n - 1 - i) / static_cast<int64_t>(fade);
    }
    sum_[i] += static_cast<int32_t>(s);
  }
  if (!last) continuing_next_.insert(talker);
  return Status::ok();
}

void Mixer::mix(std::span<int16_t> out) {
  const size_t n = std::min(out.size(), sum_.size());
  for (size_t i = 0; i < n; ++i) {
    const double x = sum_[i];
    const double magnitude = std::fabs(x);
    if (magnitude * gain_ > kFullScale) {
      gain_ = kFullScale / magnitude;  // instant attack: exactly full scale, never beyond
    } else if (gain_ < 1.0) {
      gain_ += (1.0 - gain_) * release_coef_;
      if (gain_ > 0.9999) gain_ = 1.0;
      if (magnitude * gain_ > kFullScale) gain_ = kFullScale / magnitude;
    }
    const double y = gain_ == 1.0 ? x : std::round(x * gain_);
    out[i] = static_cast<int16_t>(std::clamp(y, -kFullScale, kFullScale));
  }
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), int16_t{0});
  std::fill(sum_.begin(), sum_.end(), 0);
  this_tick_.clear();
  continuing_ = std::move(continuing_next_);
  continuing_next_.clear();
}

std::vector<int16_t> Mixer::mix() {
  std::vector<int16_t> out(sum_.size());
  mix(out);
  return out;
}

}  // namespace sotto::voice
