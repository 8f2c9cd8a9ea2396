#include "src/core/voice_early_frames.h"

#include <algorithm>

namespace sotto::core {

void EarlyFrames::hold(const std::string& from, const wire::VoiceFrame& frame, int64_t now_ms,
                       const Count& count) {
  const auto held = static_cast<size_t>(
      std::count_if(held_.begin(), held_.end(), [&](const Early& e) { return e.from == from; }));
  if (held >= kMaxPerTalker) {
    count(Counter::voice_frames_dropped_early_talker, 1);
    return;
  }
  if (held_.size() >= kMax) {
    count(Counter::voice_frames_dropped_early_full, 1);
    return;
  }
  held_.push_back({from, frame, now_ms});
}

std::vector<wire::VoiceFrame> EarlyFrames::take(const std::string& from,
                                                const std::string& transmission_id) {
  std::vector<wire::VoiceFrame> out;
  std::erase_if(held_, [&](Early& e) {
    if (e.from != from || e.frame.transmission_id() != transmission_id) return false;
    out.push_back(std::move(e.frame));
    return true;
  });
  return out;
}

void EarlyFrames::expire(int64_t now_ms, const Count& count) {
  const size_t expired =
      std::erase_if(held_, [&](const Early& e) { return now_ms - e.at_ms > kTtlMs; });
  if (expired > 0) count(Counter::voice_frames_dropped_unknown, expired);
}

size_t EarlyFrames::drop_unless(const std::string& channel_id,
                                const std::function<bool(const std::string& from)>& keep) {
  return std::erase_if(
      held_, [&](const Early& e) { return e.frame.channel_id() == channel_id && !keep(e.from); });
}

std::optional<int64_t> EarlyFrames::next_expiry_ms() const {
  if (held_.empty()) return std::nullopt;
  return held_.front().at_ms + kTtlMs + 1;
}

}  // namespace sotto::core
