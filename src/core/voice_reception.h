// Reception: one member's transmission as we hear it (doc/guide.md, Push-to-talk voice) — replay
// window, jitter buffer (adaptive 1–4 frames), Opus decoder. Each frame is played as soon as it is
// the next one due; a frame that has not come by its deadline is concealed. Played frames go to the
// output (a device through the mixer, or one WAV file per transmission) and their packets into the
// clip that VoiceEnd lets us archive. Receptions are keyed by (talker, transmission id): a member
// reusing another's id gets a reception of its own, not the other's frames.
//
// Thread-safety: the node's loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/clock.h"
#include "sotto/crypto/frame_cipher.h"
#include "sotto/voice/jitter_buffer.h"
#include "sotto/voice/mixer.h"
#include "sotto/voice/opus_codec.h"
#include "src/core/counters.h"
#include "src/core/voice_floor.h"
#include "src/core/voice_output.h"
#include "src/core/voice_types.h"

namespace sotto::core {

// What a transmission or a reception reads the time from, and where its counters and traces go
// (the node's counters; benchmarks' traces).
struct VoiceEnv {
  const Clock* clock = nullptr;
  std::function<void(Counter counter, uint64_t n)> count;
  std::function<void(const VoiceTrace&)> trace;  // optional
  bool trace_costs = false;                      // NodeOptions::voice_trace_costs
};

class Reception {
 public:
  // From a member's VoiceStart (`start`, its key cleared here). Nothing usable in it (the key or
  // the frame length): the error.
  static Result<std::unique_ptr<Reception>> create(std::string talker, VoiceChannel channel,
                                                   wire::VoiceStart start,
                                                   voice::JitterOptions jitter,
                                                   VoiceOutput::Kind output, int64_t now_ms);

  // One of its frames, from its talker: taken, or dropped and counted.
  void on_frame(const wire::VoiceFrame& frame, int64_t now_ms, const VoiceEnv& env);
  // Conceals every slot whose frame is later than the allowance, and plays what is due.
  void play_due(int64_t now_ms, const VoiceEnv& env);
  // VoiceEnd announced `frames`: the whole clip when every frame was heard, else nullopt.
  std::optional<HeardClip> end(uint32_t frames, int64_t now_ms);
  // Nothing more will be played: played out, refused and ended, or silent for `timeout_ms`.
  bool over(int64_t now_ms, int64_t timeout_ms) const;
  std::optional<int64_t> next_deadline_ms(int64_t now_ms, int64_t timeout_ms) const;
  // The next frame for the device's mix, and whether it is the transmission's last.
  std::optional<std::pair<std::vector<int16_t>, bool>> take_playout();
  bool has_playout() const { return !playout_.empty(); }
  // At the end: the stats completed; for a WAV file, every sample played (the last faded out).
  std::vector<int16_t> finish();

  // Still talking: its VoiceStart came and its VoiceEnd did not, and it holds the floor or
  // contends for it.
  bool live() const { return !refused && !end_frames; }
  // Its transmission id (raw bytes), as its VoiceStart gave it.
  const std::string& transmission_id() const { return start_.transmission_id(); }

  const std::string talker;
  const VoiceChannel channel;
  const Bytes floor_rank;
  VoiceStats stats;
  bool refused = false;   // lost the floor: frames ignored, nothing played
  bool complete = false;  // every frame arrived live
  std::optional<uint32_t> end_frames;

 private:
  Reception(std::string talker, VoiceChannel channel, wire::VoiceStart start,
            crypto::FrameCipher cipher, voice::OpusDecoder decoder,
            const voice::JitterOptions& jitter, VoiceOutput::Kind output, int64_t now_ms);
  // The frame's packet, when it is fresh and authentic; else counted as dropped.
  std::optional<Bytes> open(const wire::VoiceFrame& frame, const VoiceEnv& env);
  void drain(const VoiceEnv& env);
  void play(const voice::JitterFrame& frame, const VoiceEnv& env);
  Result<std::vector<int16_t>> decode(const voice::JitterFrame& frame, const VoiceEnv& env);
  int64_t late_allowance_ms() const;
  // Instrumentation (env.trace set): the buffer's state with a frame's step.
  VoiceTrace trace_of(VoiceTrace::Kind kind, uint32_t seq, const VoiceEnv& env) const;
  void trace(VoiceTrace::Kind kind, uint32_t seq, const VoiceEnv& env) const;
  void trace_decoded(uint32_t seq, int64_t now_us, double delay_ms, const VoiceEnv& env) const;

  wire::VoiceStart start_;  // key cleared
  crypto::FrameCipher cipher_;
  voice::OpusDecoder decoder_;
  voice::JitterOptions jitter_options_;
  voice::JitterBuffer jitter_;
  crypto::ReplayWindow window_;
  VoiceOutput::Kind output_;
  std::vector<Bytes> packets_;  // by seq; empty: not (yet) arrived
  std::vector<int64_t> arrival_ms_;
  int64_t first_arrival_ms_ = -1;
  int64_t schedule_ms_ = 0;  // earliest arrival - seq * frame_ms: when frames are due
  bool scheduled_ = false;
  int64_t last_activity_ms_ = 0;
  std::vector<double> delays_ms_;
  // One WAV file per transmission: a frame is held back until the next one shows it was not the
  // last, so the last one gets the fade-out.
  std::vector<int16_t> file_pcm_;
  std::vector<int16_t> held_;
  voice::Mixer file_mixer_;
  std::deque<std::vector<int16_t>> playout_;  // decoded, waiting for the device mixer
};

// A member's clip that reached us only through the outbox (we were away, or lost frames), as
// its transmission's stats show it: archived, not played.
VoiceStats delivered_stats(const std::string& talker, const std::string& talker_name,
                           const VoiceChannel& channel, const storage::VoiceClipRecord& clip);

// Which transmissions were heard, and whether whole: a transmission's duplicates (its VoiceEnd,
// its clip from the outbox) come within seconds, so the latest kRemembered are enough, and a
// talker cannot grow the table without bound.
class HeardLog {
 public:
  using Key = std::pair<std::string, std::string>;  // talker, transmission id (hex)
  static constexpr size_t kRemembered = 1024;

  void note(const Key& key, bool whole);
  bool contains(const Key& key) const { return whole_.contains(key); }
  bool heard_whole(const Key& key) const;

 private:
  std::map<Key, bool> whole_;
  std::deque<Key> order_;  // oldest first, for the cap
};

}  // namespace sotto::core
