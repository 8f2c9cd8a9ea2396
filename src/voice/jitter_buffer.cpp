#include "sotto/voice/jitter_buffer.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace sotto::voice {

JitterBuffer::JitterBuffer(const JitterOptions& options)
    : options_(options), target_depth_(std::max(options.min_depth, 1)) {
  options_.frame_ms = std::max(options_.frame_ms, 1);
  options_.min_depth = std::max(options_.min_depth, 1);
  options_.max_depth = std::max(options_.max_depth, options_.min_depth);
  options_.capacity = std::max(options_.capacity, options_.max_depth);
  options_.jitter_window = std::max(options_.jitter_window, 1);
  if (options_.jitter_outliers < 0) options_.jitter_outliers = options_.jitter_window / 16;
  options_.jitter_outliers = std::min(options_.jitter_outliers, options_.jitter_window - 1);
}

PushResult JitterBuffer::push(uint32_t seq, Bytes payload, int64_t arrival_ms) {
  if (frames_.contains(seq)) {
    ++stats_.duplicate;
    return PushResult::kDuplicate;
  }
  // A late frame still tells how much the network delays frames: count it before dropping it.
  observe_arrival(seq, arrival_ms);
  if (has_next_ && seq < next_seq_) {
    ++stats_.late;
    return PushResult::kLate;
  }
  frames_.emplace(seq, std::move(payload));
  ++stats_.accepted;
  enforce_capacity();
  return PushResult::kAccepted;
}

void JitterBuffer::observe_arrival(uint32_t seq, int64_t arrival_ms) {
  const int64_t transit = arrival_ms - static_cast<int64_t>(seq) * options_.frame_ms;
  // The window in arrival order and the same values kept sorted, in step: a frame moves one value
  // in and one out of each, instead of copying and partly sorting the whole window.
  transit_.push_back(transit);
  sorted_transit_.insert(std::upper_bound(sorted_transit_.begin(), sorted_transit_.end(), transit),
                         transit);
  while (transit_.size() > static_cast<size_t>(options_.jitter_window)) {
    sorted_transit_.erase(
        std::lower_bound(sorted_transit_.begin(), sorted_transit_.end(), transit_.front()));
    transit_.pop_front();
  }
  // One arrival ignored per 16 in the window, up to the option: a window still filling trusts
  // what it has.
  const size_t ignored =
      std::min(transit_.size() / 16, static_cast<size_t>(options_.jitter_outliers));
  const int64_t slowest_kept = sorted_transit_[sorted_transit_.size() - 1 - ignored];
  jitter_ms_ = static_cast<int>(std::min<int64_t>(slowest_kept - sorted_transit_.front(), 60'000));
  const int needed = depth_for(jitter_ms_);
  if (needed > target_depth_) {
    target_depth_ = needed;
  } else if (needed < target_depth_) {
    // Down only with a quarter frame to spare (or no jitter at all), so it does not flap.
    const int spared = jitter_ms_ == 0 ? needed : depth_for(jitter_ms_ + options_.frame_ms / 4);
    target_depth_ = std::min(target_depth_, spared);
  }
}

int JitterBuffer::depth_for(int jitter_ms) const {
  const int depth = 1 + (jitter_ms + options_.frame_ms - 1) / options_.frame_ms;
  return std::clamp(depth, options_.min_depth, options_.max_depth);
}

void JitterBuffer::enforce_capacity() {
  const uint32_t newest = frames_.rbegin()->first;
  const uint32_t base = has_next_ ? next_seq_ : frames_.begin()->first;
  const uint64_t span = uint64_t{newest} - base + 1;
  if (span <= static_cast<uint64_t>(options_.capacity)) return;
  const uint32_t new_base = newest - static_cast<uint32_t>(options_.capacity) + 1;
  while (!frames_.empty() && frames_.begin()->first < new_base) {
    frames_.erase(frames_.begin());
    ++stats_.overflow;
  }
  if (has_next_) {
    stats_.skipped += new_base - next_seq_;
    next_seq_ = new_base;
  }
}

bool JitterBuffer::ready() const {
  if (frames_.empty()) return false;
  if (playing_) return frames_.begin()->first == next_seq_;
  const uint64_t span = uint64_t{frames_.rbegin()->first} - frames_.begin()->first + 1;
  return span >= static_cast<uint64_t>(target_depth_) || finished_;
}

std::optional<JitterFrame> JitterBuffer::pop() {
  if (!playing_) {
    if (frames_.empty()) return std::nullopt;
    const uint32_t lowest = frames_.begin()->first;
    const uint64_t span = uint64_t{frames_.rbegin()->first} - lowest + 1;
    if (span < static_cast<uint64_t>(target_depth_) && !finished_) return std::nullopt;
    // Slots between the last one played and the first one buffered are gone for good.
    if (has_next_) stats_.skipped += lowest - next_seq_;
    next_seq_ = lowest;
    has_next_ = true;
    playing_ = true;
    concealed_in_row_ = 0;
  }
  JitterFrame out;
  out.seq = next_seq_;
  auto it = frames_.find(next_seq_);
  if (it != frames_.end()) {
    out.kind = JitterFrame::Kind::kFrame;
    out.payload = std::move(it->second);
    frames_.erase(it);
    ++stats_.played;
    concealed_in_row_ = 0;
  } else if (!frames_.empty()) {
    // A later frame is here but this one is not: it is lost (or so late it counts as lost).
    out.kind = JitterFrame::Kind::kLost;
    ++stats_.lost;
  } else if (finished_) {
    playing_ = false;
    return std::nullopt;
  } else {
    // Ran dry: conceal a few frames, hoping the stream resumes, then stop and refill.
    if (concealed_in_row_ == 0) ++stats_.underruns;
    if (concealed_in_row_ >= options_.max_concealed) {
      playing_ = false;
      return std::nullopt;
    }
    ++concealed_in_row_;
    out.kind = JitterFrame::Kind::kLost;
    ++stats_.lost;
  }
  ++next_seq_;
  return out;
}

}  // namespace sotto::voice
