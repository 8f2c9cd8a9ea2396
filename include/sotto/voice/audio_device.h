// AudioSource / AudioSink: where voice enters and leaves sotto, always as frames of 48 kHz mono
// int16 samples. The node codes against these two interfaces only, so tests and headless machines
// use WAV files or null devices and production uses a sound card through PortAudio (doc/guide.md,
// Push-to-talk voice).
//
// Backends:
//   - WAV files: a source plays a recording (any WAV that wav.h reads, converted to 48 kHz mono);
//     a sink records what was played into a 48 kHz mono 16-bit WAV, readable even if the process
//     dies before close() (the header says "size unknown" until close() patches it).
//   - null: silence forever / discard everything.
//   - PortAudio devices, chosen by name or index. The stream callback only moves samples through
//     a lock-free RingBuffer; it never allocates, locks or logs. Capture overflow drops the newest
//     samples and counts them; playback underflow plays silence. The callback also counts
//     itself, the host's xruns and its own longest run (device_stats()), with relaxed atomics.
//
// With no usable sound device (a server, a container) every device open fails with one line
// that points at `--audio-in FILE.wav` / `--audio-out FILE.wav|DIR`. ALSA's and JACK's own
// messages on stderr are silenced (the environment variable SOTTO_AUDIO_DEBUG=1 keeps them).
//
// Thread-safety: one source or sink is used by one thread at a time (the node's audio thread),
// except device_stats(), which any thread may call; different instances are independent. The free
// functions may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sotto/base/status.h"

namespace sotto::voice {

// What a device's real-time callback has seen since the device was opened. A file or null device
// has no callback: all zero. Each field is read on its own (a snapshot is not atomic as a whole).
struct AudioDeviceStats {
  uint64_t callbacks = 0;
  // Callbacks PortAudio flagged with an over- or underflow: audio the host lost or made up
  // because a callback came too late (the host's xruns), each callback counted once.
  uint64_t xruns = 0;
  // The flags one by one (a callback may carry several).
  uint64_t input_overflows = 0;
  uint64_t input_underflows = 0;
  uint64_t output_overflows = 0;
  uint64_t output_underflows = 0;
  uint64_t priming_callbacks = 0;  // playback callbacks that filled the host's initial buffers
  int64_t longest_callback_ns = 0;
  int peak_sample = 0;  // the largest |sample| a callback moved: 0 means only silence went by

  // Adds `other`'s counts; the longest callback and the peak are the larger of the two.
  AudioDeviceStats& operator+=(const AudioDeviceStats& other);
};

// A source of 48 kHz mono int16 frames (capture).
class AudioSource {
 public:
  virtual ~AudioSource() = default;

  // Fills `frame` (frame_samples long, else InvalidArgument) with the next frame. Returns false at
  // end of input (a file ran out); the frame is then all zeros.
  // A real-time source blocks until a frame's worth has been captured. A WAV file source does NOT
  // sleep unless it was opened with Pacing::kRealTime: pacing is the caller's job (the node's
  // clock).
  virtual Result<bool> read(std::span<int16_t> frame) = 0;
  // From another thread: a read that is waiting, and every later one, returns false (as at end of
  // input) within a few milliseconds instead of waiting for audio, so the thread reading a
  // stalled device can be stopped.
  virtual void interrupt() {}
  virtual std::string description() const = 0;
  // Captured samples thrown away because the reader fell behind (devices only).
  virtual uint64_t dropped_samples() const { return 0; }
  // May be called from any thread while another reads.
  virtual AudioDeviceStats device_stats() const { return {}; }
};

// A consumer of 48 kHz mono int16 frames (playback).
class AudioSink {
 public:
  virtual ~AudioSink() = default;

  // One frame of 48 kHz mono. A device sink never blocks: when the device plays slower than
  // frames arrive, the frame that does not fit is dropped and counted.
  virtual Status write(std::span<const int16_t> frame) = 0;
  // Flushes (a WAV file gets its final header; a device plays out what is queued). Later writes
  // fail; a second close() is ok. The destructor closes too, without reporting errors.
  virtual Status close() = 0;
  virtual std::string description() const = 0;
  // Samples refused by write() because the device's queue was full (devices only).
  virtual uint64_t dropped_samples() const { return 0; }
  // May be called from any thread while another writes.
  virtual AudioDeviceStats device_stats() const { return {}; }
};

struct AudioDeviceInfo {
  int index = -1;  // PortAudio's device index, valid until the process exits
  std::string name;
  std::string host_api;  // "ALSA", "JACK Audio Connection Kit", ...
  int max_input_channels = 0;
  int max_output_channels = 0;
  double default_sample_rate = 0;
  bool default_input = false;
  bool default_output = false;
};

// The sound devices PortAudio sees. Zero devices is an empty list, not an error.
Result<std::vector<AudioDeviceInfo>> list_audio_devices();

enum class Pacing {
  kNone,      // read() returns at once; the caller paces
  kRealTime,  // read() returns frame k no earlier than (k + 1) frame durations after the first
};

// A WAV file as a source: converted to 48 kHz mono, served frame by frame, the last frame padded
// with zeros. IoError when it cannot be read, Corruption/InvalidArgument as read_wav()
// says, InvalidArgument when frame_samples <= 0.
Result<std::unique_ptr<AudioSource>> open_wav_source(const std::string& path, int frame_samples,
                                                     Pacing pacing = Pacing::kNone);
// A WAV file (created or truncated) as a sink: 48 kHz mono 16-bit PCM.
Result<std::unique_ptr<AudioSink>> open_wav_sink(const std::string& path);

// Silence forever. REQUIRES: frame_samples > 0.
std::unique_ptr<AudioSource> null_source(int frame_samples);
// Discards every frame.
std::unique_ptr<AudioSink> null_sink();

// A sound device by `spec`: a decimal PortAudio index, or a case-insensitive substring of the
// device name (an exact name wins over substrings; several substring matches are
// InvalidArgument); empty means the default device. Opened at 48 kHz mono 16-bit (a stereo-only
// device gets the mono signal on both channels / has its channels averaged). Fails when the device
// cannot run at 48 kHz, and for frame_samples outside 1..48000 (InvalidArgument). A device that
// cannot be found or opened is reported with the file alternative at the end of the message
// (--audio-in / --audio-out).
Result<std::unique_ptr<AudioSource>> open_device_source(const std::string& spec, int frame_samples);
Result<std::unique_ptr<AudioSink>> open_device_sink(const std::string& spec, int frame_samples);

}  // namespace sotto::voice
