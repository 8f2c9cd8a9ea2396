// EarlyFrames: frames that overtook their VoiceStart, held until it comes (doc/guide.md,
// Push-to-talk voice). The talker sends VoiceStart after a commit (an fsync) and then catches up
// with the frames captured meanwhile, and a listener handles them at once but VoiceStart only after
// its poll round.
//
// 32 frames a talker are 640 ms of 20 ms frames (320 ms of 10 ms ones), far more than such a
// commit takes; the total holds two talkers crossing with room for two more, at most 128 sealed
// frames of a few hundred bytes. Slots are for members only (anyone who passed the transport
// handshake could otherwise fill them all and make the members' real early frames drop), and
// shared per talker, so no one member can.
//
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "src/core/counters.h"

namespace sotto::core {

class EarlyFrames {
 public:
  static constexpr size_t kMaxPerTalker = 32;
  static constexpr size_t kMax = 4 * kMaxPerTalker;
  static constexpr int64_t kTtlMs = 2'000;

  using Count = std::function<void(Counter counter, uint64_t n)>;

  // Holds `frame` from `from` (already known to be a member) if there is room; else counted.
  void hold(const std::string& from, const wire::VoiceFrame& frame, int64_t now_ms,
            const Count& count);
  // The held frames of `from`'s transmission `transmission_id` (raw bytes), taken out.
  std::vector<wire::VoiceFrame> take(const std::string& from, const std::string& transmission_id);
  // Drops what no VoiceStart came for (lost, never sent, or its talker lost the channel).
  void expire(int64_t now_ms, const Count& count);
  // Drops the frames on `channel_id` (raw bytes) whose sender `keep` refuses; returns how many.
  size_t drop_unless(const std::string& channel_id,
                     const std::function<bool(const std::string& from)>& keep);
  std::optional<int64_t> next_expiry_ms() const;

 private:
  struct Early {
    std::string from;
    wire::VoiceFrame frame;
    int64_t at_ms = 0;
  };
  std::vector<Early> held_;
};

}  // namespace sotto::core
