// CaptureFeed: where a transmission's frames come from (doc/guide.md, Push-to-talk voice).
//
//   paced:     a WAV file or the null source. Reading never blocks, so the loop reads one frame
//              whenever the node's clock says one is due; under a FakeClock that is
//              deterministic.
//   threaded:  a capture device, whose read() blocks until a frame's worth has been captured.
//              A thread of its own reads it into a bounded queue and wakes the loop; the loop
//              takes the frames that are there when they are due, and never waits for one.
//
// The queue holds kMaxQueuedFrames: 25 frames are 500 ms of 20 ms frames (250 ms of 10 ms
// ones), far longer than any round of the loop, so a full queue means the loop stalled; the
// newest frame is then dropped, as the device's own ring drops the newest samples.
//
// Thread-safety: next(), ready(), device_stats() and the destructor on the loop thread (a device's
// stats are atomics, read while the reader thread reads the device); the reader thread only
// touches the source and the queue. The destructor interrupts the source's read (a stalled
// device would hold it for seconds) and joins the reader, which takes a few milliseconds.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "sotto/voice/audio_device.h"

namespace sotto::core {

class CaptureFeed {
 public:
  enum class Next { kFrame, kNotYet, kEnd };

  static std::unique_ptr<CaptureFeed> paced(std::unique_ptr<voice::AudioSource> source);
  // `wake` is called on the reader thread after each frame (and at the end of input).
  static std::unique_ptr<CaptureFeed> threaded(std::unique_ptr<voice::AudioSource> source,
                                               int frame_samples, std::function<void()> wake);

  static constexpr size_t kMaxQueuedFrames = 25;

  virtual ~CaptureFeed() = default;
  // Fills `frame` with the next frame (kFrame), or says none has been captured yet (kNotYet) or
  // none will come (kEnd: the input ended or failed).
  virtual Next next(std::span<int16_t> frame) = 0;
  // next() would not say kNotYet. When false, the loop is woken once it would.
  virtual bool ready() const = 0;
  // The source's device callbacks so far (all zero for a file).
  virtual voice::AudioDeviceStats device_stats() const = 0;
};

}  // namespace sotto::core
