// JitterBuffer: one talker's received voice frames, reordered by sequence number and released one
// per frame period to the decoder.
//
// The playout thread calls pop() once per frame period (every 20 ms). pop() gives the next frame,
// or kLost when that frame did not arrive in time (decode it with Opus concealment), or nothing
// while the buffer is still filling. Frames that arrive after their slot was played or concealed
// are late and dropped; a second copy of a buffered frame is a duplicate and dropped; both are
// counted.
//
// Depth adapts to jitter: each arrival's time minus its nominal send time (seq * frame_ms) is kept
// for the last `jitter_window` frames. The jitter is the spread of those values from the fastest
// to the slowest but one in 16 of them (up to `jitter_outliers`, 3 of 50): a hiccup of a few
// frames, such as the first frames of a talk spurt held until its VoiceStart is read, is not jitter
// the rest of the transmission must pay for. The target depth is 1 + ceil(jitter / frame_ms)
// frames, clamped to [min_depth, max_depth]: with 20 ms frames, jitter up to 20 ms needs 2 frames,
// up to 60 ms the maximum of 4 (80 ms of audio). It rises at once to what the jitter needs and
// falls (hysteresis) only once the jitter is a quarter frame inside what the lower depth allows, or
// gone, so a jitter near a boundary does not flap; a spike is forgotten after `jitter_window`
// arrivals (1 s), a few sooner.
// A new target takes effect when playout (re)starts: at the start of the talk spurt, or after an
// underrun longer than `max_concealed` frames sends the buffer back to filling.
//
// One JitterBuffer per talker and transmission (sequence numbers start afresh per transmission).
// Thread-safety: none; owned by the thread that receives and plays out.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "sotto/base/bytes.h"

namespace sotto::voice {

struct JitterOptions {
  int frame_ms = 20;
  int min_depth = 1;  // frames buffered before playout starts, at the least
  int max_depth = 4;  // ... and at the most
  // Frames kept ahead of the playout point. A burst beyond this (e.g. after a network stall) moves
  // playout forward, dropping the oldest, so latency stays bounded: 8 * 20 ms = 160 ms.
  int capacity = 8;
  int jitter_window = 50;  // arrivals the jitter estimate looks back over: 1 s of 20 ms frames
  // The most of the window's slowest arrivals the estimate ignores; -1: jitter_window / 16.
  int jitter_outliers = -1;
  // Consecutive frames concealed when the buffer runs dry before playout stops and refills.
  // 3 * 20 ms: Opus concealment fades out over about that long anyway.
  int max_concealed = 3;
};

enum class PushResult { kAccepted, kDuplicate, kLate };

struct JitterFrame {
  enum class Kind { kFrame, kLost };
  Kind kind = Kind::kFrame;
  uint32_t seq = 0;
  Bytes payload;  // empty when kind == kLost
};

struct JitterStats {
  uint64_t accepted = 0;
  uint64_t played = 0;
  uint64_t lost = 0;       // slots given out as kLost (to be concealed)
  uint64_t skipped = 0;    // slots jumped over when refilling or on overflow, never played
  uint64_t late = 0;       // arrived after their slot; dropped
  uint64_t duplicate = 0;  // already buffered; dropped
  uint64_t overflow = 0;   // buffered frames dropped to keep within capacity
  uint64_t underruns = 0;  // times the buffer ran dry while playing
};

class JitterBuffer {
 public:
  explicit JitterBuffer(const JitterOptions& options = {});

  // A received frame. `arrival_ms` is the receiver's monotonic clock at reception.
  PushResult push(uint32_t seq, Bytes payload, int64_t arrival_ms);

  // The next playout slot; nullopt while filling, or once finished and empty.
  std::optional<JitterFrame> pop();
  // True when pop() would give a real frame now: playout may start (filled to the target depth)
  // or the next slot's frame is here. A receiver that plays frames as soon as they are ready
  // calls pop() while this holds, and pop() on its own only when a slot's deadline has passed.
  bool ready() const;
  // The slot pop() gives next; meaningful while playing().
  uint32_t next_seq() const { return next_seq_; }

  // The talker ended the transmission: play out what is buffered without waiting to fill.
  void finish() { finished_ = true; }
  // finish() was called and everything has been played.
  bool done() const { return finished_ && frames_.empty(); }

  bool playing() const { return playing_; }
  size_t buffered() const { return frames_.size(); }
  int target_depth() const { return target_depth_; }
  int jitter_ms() const { return jitter_ms_; }
  const JitterStats& stats() const { return stats_; }

 private:
  void observe_arrival(uint32_t seq, int64_t arrival_ms);
  // The depth a jitter of `jitter_ms` calls for, within [min_depth, max_depth].
  int depth_for(int jitter_ms) const;
  void enforce_capacity();

  JitterOptions options_;
  std::map<uint32_t, Bytes> frames_;
  std::deque<int64_t> transit_;          // arrival_ms - seq * frame_ms, oldest first
  std::vector<int64_t> sorted_transit_;  // transit_'s values in ascending order
  bool playing_ = false;
  bool finished_ = false;
  bool has_next_ = false;  // next_seq_ is set once playout has started
  uint32_t next_seq_ = 0;
  int concealed_in_row_ = 0;
  int target_depth_;
  int jitter_ms_ = 0;
  JitterStats stats_;
};

}  // namespace sotto::voice
