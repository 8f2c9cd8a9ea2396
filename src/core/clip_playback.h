// ClipPlayback: an archived clip played on the output device (Node::play_out, the terminal UI's
// /play). The loop hands the clip over and goes on. A player thread of its own opens the sink,
// decodes the clip a frame at a time (sample for sample as `sotto play --wav` writes it) and
// writes each frame when the steady clock says it is due, kLeadFrames ahead of the device: a
// device sink queues 4 frames and drops what does not fit, so writing faster than real time
// would lose frames, and writing just in time would let the device starve.
//
// Thread-safety: start(), stop(), state() and the destructor on one thread (the node's loop).
// The player thread touches only the sink, its decoder and the state under mutex_. stop() only
// asks: the thread ends within a frame period and is joined by the next start() or by the
// destructor, so the loop waits on a device closing only when a new clip follows at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/core/events.h"
#include "sotto/voice/audio_device.h"
#include "src/core/voice_types.h"

namespace sotto::core {

class ClipPlayback {
 public:
  // Opens the sink for frames of `frame_samples`; called on the player thread (opening a device
  // may take a while).
  using OpenSink = std::function<Result<std::unique_ptr<voice::AudioSink>>(int frame_samples)>;

  // Frames written at once when a clip starts: 40 ms of 20 ms frames, half the device's queue.
  static constexpr size_t kLeadFrames = 2;

  explicit ClipPlayback(OpenSink open_sink);
  ~ClipPlayback();
  ClipPlayback(const ClipPlayback&) = delete;
  ClipPlayback& operator=(const ClipPlayback&) = delete;

  // Stops what is playing and starts `clip`. Corruption when its packets cannot be read.
  Result<PlaybackState> start(const ArchivedClip& clip);
  void stop();
  PlaybackState state() const;

 private:
  void play(std::vector<Bytes> packets, int frame_ms);  // the player thread
  void finish(const std::string& error);

  OpenSink open_sink_;
  mutable std::mutex mutex_;
  std::condition_variable stop_asked_;
  PlaybackState state_;  // GUARDED_BY(mutex_)
  bool stop_ = false;    // GUARDED_BY(mutex_)
  std::thread player_;
};

// The sink Node::play_out plays to (NodeOptions::playback_out): `playback_out` when set, a
// FILE.wav or a device; else the device `audio_out` names (neither empty, a directory nor a
// .wav file); else the default output device.
Result<std::unique_ptr<voice::AudioSink>> open_playback_sink(const std::string& playback_out,
                                                             const std::string& audio_out,
                                                             int frame_samples);

}  // namespace sotto::core
