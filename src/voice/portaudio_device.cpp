// The PortAudio backend of audio_device.h: device listing, capture and playback streams.
//
// Ownership: a DeviceSource/DeviceSink holds, in destruction order, the stream (closed first, so
// the callback has stopped), the Shared block the callback works on, and a reference to the
// initialised library (Pa_Terminate after the last one goes). The callback touches nothing but
// Shared: the SPSC ring and relaxed atomic counters (dropped samples, CallbackStats).
//
// PortAudio's own calls (initialise, list, open, close) are not thread-safe, so they run under
// one module mutex; the audio callback never takes it.
#include <dlfcn.h>
#include <portaudio.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>

#include "sotto/voice/audio_device.h"
#include "sotto/voice/opus_codec.h"
#include "sotto/voice/ring_buffer.h"

namespace sotto::voice {
namespace {

enum class Direction { kInput, kOutput };

// What the user can do instead when no sound device works: the end of every open failure.
std::string file_hint(Direction direction) {
  return direction == Direction::kInput ? "use --audio-in FILE.wav instead"
                                        : "use --audio-out FILE.wav|DIR instead";
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// The one place PortAudio error codes become Status values. `hint` (may be empty) is appended.
Status status_from_pa(PaError error, const std::string& context, const std::string& hint = "") {
  std::string message = context + ": " + Pa_GetErrorText(error);
  if (error == paUnanticipatedHostError) {
    const PaHostErrorInfo* host = Pa_GetLastHostErrorInfo();
    if (host != nullptr && host->errorText != nullptr && host->errorText[0] != '\0') {
      message += std::string(" (") + host->errorText + ")";
    }
  }
  if (!hint.empty()) message += "; " + hint;
  message = one_line(std::move(message));
  switch (error) {
    case paDeviceUnavailable:
    case paNoDevice:
    case paNotInitialized:
      return Status::unavailable(message);
    case paInvalidDevice:
      return Status::not_found(message);
    case paInvalidSampleRate:
    case paInvalidChannelCount:
    case paSampleFormatNotSupported:
    case paBadIODeviceCombination:
      return Status::invalid_argument(message);
    case paUnanticipatedHostError:
    case paTimedOut:
      return Status::io_error(message);
    default:
      return Status::internal(message);
  }
}

std::recursive_mutex& pa_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}
int pa_users = 0;  // GUARDED_BY(pa_mutex()): live PortAudioLibrary references

// ALSA and JACK print dozens of lines to stderr while PortAudio probes for devices, which would
// bury sotto's own one-line error on a machine without a sound card. Both libraries let a program
// replace their message printer; they are loaded as dependencies of libportaudio, so the setters
// are looked up at run time and this needs neither library's headers. SOTTO_AUDIO_DEBUG=1 keeps
// the messages for diagnosing a real device.
void quiet_alsa(const char*, int, const char*, int, const char*, ...) {}
void quiet_jack(const char*) {}

void quiet_audio_libraries() {
  const char* debug = std::getenv("SOTTO_AUDIO_DEBUG");
  if (debug != nullptr && debug[0] != '\0' && debug[0] != '0') return;
  using AlsaHandler = void (*)(const char*, int, const char*, int, const char*, ...);
  using SetAlsaHandler = int (*)(AlsaHandler);
  using JackHandler = void (*)(const char*);
  using SetJackHandler = void (*)(JackHandler);
  if (auto set =
          reinterpret_cast<SetAlsaHandler>(dlsym(RTLD_DEFAULT, "snd_lib_error_set_handler"))) {
    set(&quiet_alsa);
  }
  for (const char* name : {"jack_set_error_function", "jack_set_info_function"}) {
    if (auto set = reinterpret_cast<SetJackHandler>(dlsym(RTLD_DEFAULT, name))) set(&quiet_jack);
  }
}

// One reference to the initialised PortAudio library (Pa_Initialize on the first, Pa_Terminate
// after the last). Move-only.
class PortAudioLibrary {
 public:
  static Result<PortAudioLibrary> acquire(const std::string& hint) {
    std::lock_guard lock(pa_mutex());
    if (pa_users == 0) {
      static std::once_flag quiet;
      std::call_once(quiet, quiet_audio_libraries);
      const PaError error = Pa_Initialize();
      if (error != paNoError) return status_from_pa(error, "starting PortAudio", hint);
    }
    ++pa_users;
    return PortAudioLibrary(true);
  }

  PortAudioLibrary(PortAudioLibrary&& other) noexcept : owns_(std::exchange(other.owns_, false)) {}
  PortAudioLibrary& operator=(PortAudioLibrary&& other) noexcept {
    if (this != &other) {
      release();
      owns_ = std::exchange(other.owns_, false);
    }
    return *this;
  }
  PortAudioLibrary(const PortAudioLibrary&) = delete;
  PortAudioLibrary& operator=(const PortAudioLibrary&) = delete;
  ~PortAudioLibrary() { release(); }

 private:
  explicit PortAudioLibrary(bool owns) : owns_(owns) {}
  void release() {
    if (!owns_) return;
    owns_ = false;
    std::lock_guard lock(pa_mutex());
    if (--pa_users == 0) Pa_Terminate();
  }

  bool owns_;
};

struct CloseStream {
  void operator()(PaStream* stream) const {
    std::lock_guard lock(pa_mutex());
    Pa_CloseStream(stream);  // aborts the stream first if it is still running
  }
};
using Stream = std::unique_ptr<PaStream, CloseStream>;

// What the callbacks tell about themselves (AudioDeviceStats), as relaxed atomics: each value is
// a tally or a maximum on its own, and nothing orders other memory by them.
class CallbackStats {
 public:
  // Real-time thread: a few relaxed atomic operations, no lock, no allocation.
  void note(PaStreamCallbackFlags flags, std::chrono::steady_clock::duration took,
            std::span<const int16_t> samples) {
    callbacks_.fetch_add(1, std::memory_order_relaxed);
    if (flags & (paInputOverflow | paInputUnderflow | paOutputOverflow | paOutputUnderflow)) {
      xruns_.fetch_add(1, std::memory_order_relaxed);
    }
    count_if(flags, paInputOverflow, input_overflows_);
    count_if(flags, paInputUnderflow, input_underflows_);
    count_if(flags, paOutputOverflow, output_overflows_);
    count_if(flags, paOutputUnderflow, output_underflows_);
    count_if(flags, paPrimingOutput, priming_);
    raise(longest_ns_, std::chrono::duration_cast<std::chrono::nanoseconds>(took).count());
    int peak = 0;
    for (int16_t s : samples) peak = std::max(peak, std::abs(static_cast<int>(s)));
    raise(peak_, peak);
  }

  AudioDeviceStats snapshot() const {
    AudioDeviceStats stats;
    stats.callbacks = callbacks_.load(std::memory_order_relaxed);
    stats.xruns = xruns_.load(std::memory_order_relaxed);
    stats.input_overflows = input_overflows_.load(std::memory_order_relaxed);
    stats.input_underflows = input_underflows_.load(std::memory_order_relaxed);
    stats.output_overflows = output_overflows_.load(std::memory_order_relaxed);
    stats.output_underflows = output_underflows_.load(std::memory_order_relaxed);
    stats.priming_callbacks = priming_.load(std::memory_order_relaxed);
    stats.longest_callback_ns = longest_ns_.load(std::memory_order_relaxed);
    stats.peak_sample = peak_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  static void count_if(PaStreamCallbackFlags flags, PaStreamCallbackFlags flag,
                       std::atomic<uint64_t>& counter) {
    if (flags & flag) counter.fetch_add(1, std::memory_order_relaxed);
  }
  template <typename T>
  static void raise(std::atomic<T>& maximum, T value) {
    T seen = maximum.load(std::memory_order_relaxed);
    while (value > seen && !maximum.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
  }

  std::atomic<uint64_t> callbacks_{0};
  std::atomic<uint64_t> xruns_{0};
  std::atomic<uint64_t> input_overflows_{0};
  std::atomic<uint64_t> input_underflows_{0};
  std::atomic<uint64_t> output_overflows_{0};
  std::atomic<uint64_t> output_underflows_{0};
  std::atomic<uint64_t> priming_{0};
  std::atomic<int64_t> longest_ns_{0};
  std::atomic<int> peak_{0};
  static_assert(std::atomic<uint64_t>::is_always_lock_free);
  static_assert(std::atomic<int64_t>::is_always_lock_free);
};

// Everything the audio callback touches. Heap-allocated so its address stays fixed.
struct Shared {
  explicit Shared(size_t capacity, int channel_count) : ring(capacity), channels(channel_count) {}
  RingBuffer ring;
  const int channels;  // 1, or 2 for a device that cannot do mono
  std::atomic<uint64_t> dropped{0};
  CallbackStats stats;
};

// Stereo devices are converted through a small stack buffer, in chunks of this many frames.
constexpr size_t kChunk = 256;

// Real-time thread, as are the three functions below: only moves samples (see the file comment).
void move_captured(Shared& shared, const int16_t* in, size_t frames) {
  if (shared.channels == 1) {
    const size_t pushed = shared.ring.push({in, frames});
    if (pushed < frames) shared.dropped.fetch_add(frames - pushed, std::memory_order_relaxed);
    return;
  }
  int16_t mono[kChunk];
  for (size_t done = 0; done < frames;) {
    const size_t n = std::min<size_t>(kChunk, frames - done);
    for (size_t i = 0; i < n; ++i) {
      const int left = in[2 * (done + i)];
      const int right = in[2 * (done + i) + 1];
      mono[i] = static_cast<int16_t>((left + right) / 2);
    }
    const size_t pushed = shared.ring.push({mono, n});
    if (pushed < n) shared.dropped.fetch_add(n - pushed, std::memory_order_relaxed);
    done += n;
  }
}

// What the ring does not hold is played as silence.
void move_to_play(Shared& shared, int16_t* out, size_t frames) {
  if (shared.channels == 1) {
    const size_t got = shared.ring.pop({out, frames});
    std::fill(out + got, out + frames, int16_t{0});
    return;
  }
  int16_t mono[kChunk];
  for (size_t done = 0; done < frames;) {
    const size_t n = std::min<size_t>(kChunk, frames - done);
    const size_t got = shared.ring.pop({mono, n});
    std::fill(mono + got, mono + n, int16_t{0});
    for (size_t i = 0; i < n; ++i) out[2 * (done + i)] = out[2 * (done + i) + 1] = mono[i];
    done += n;
  }
}

int capture_callback(const void* input, void*, unsigned long frames,
                     const PaStreamCallbackTimeInfo*, PaStreamCallbackFlags flags, void* user) {
  const auto began = std::chrono::steady_clock::now();
  auto& shared = *static_cast<Shared*>(user);
  const auto* in = static_cast<const int16_t*>(input);
  const size_t samples = in == nullptr ? 0 : frames * static_cast<size_t>(shared.channels);
  if (in != nullptr) move_captured(shared, in, frames);
  shared.stats.note(flags, std::chrono::steady_clock::now() - began, {in, samples});
  return paContinue;
}

int playback_callback(const void*, void* output, unsigned long frames,
                      const PaStreamCallbackTimeInfo*, PaStreamCallbackFlags flags, void* user) {
  const auto began = std::chrono::steady_clock::now();
  auto& shared = *static_cast<Shared*>(user);
  auto* out = static_cast<int16_t*>(output);
  move_to_play(shared, out, frames);
  shared.stats.note(flags, std::chrono::steady_clock::now() - began,
                    {out, frames * static_cast<size_t>(shared.channels)});
  return paContinue;
}

int channels_of(const PaDeviceInfo& info, Direction direction) {
  return direction == Direction::kInput ? info.maxInputChannels : info.maxOutputChannels;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string device_label(PaDeviceIndex index, const PaDeviceInfo& info) {
  return "audio device " + std::to_string(index) + " '" + info.name + "'";
}

// REQUIRES: pa_mutex() held, library initialised.
Result<PaDeviceIndex> find_device(const std::string& spec, Direction direction) {
  const std::string hint = file_hint(direction);
  const std::string kind = direction == Direction::kInput ? "input" : "output";
  const PaDeviceIndex count = Pa_GetDeviceCount();
  if (count < 0) return status_from_pa(count, "listing audio devices", hint);
  if (count == 0) {
    return Status::unavailable("no audio devices found on this machine; " + hint);
  }
  if (spec.empty()) {
    const PaDeviceIndex index =
        direction == Direction::kInput ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice();
    if (index == paNoDevice) {
      return Status::unavailable("no default audio " + kind +
                                 " device (see `sotto audio devices`); " + hint);
    }
    return index;
  }
  if (std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int index = -1;
    const auto [end, error] = std::from_chars(spec.data(), spec.data() + spec.size(), index);
    if (error != std::errc() || end != spec.data() + spec.size() || index >= count) {
      return Status::not_found("no audio device number " + spec + " (there are " +
                               std::to_string(count) + ", see `sotto audio devices`); " + hint);
    }
    const PaDeviceInfo* info = Pa_GetDeviceInfo(index);
    if (info == nullptr || channels_of(*info, direction) < 1) {
      return Status::invalid_argument((info ? device_label(index, *info) : "audio device " + spec) +
                                      " has no " + kind + " channels; " + hint);
    }
    return index;
  }
  // By name: an exact (case-insensitive) name wins, else the one device containing `spec`.
  const std::string wanted = lower(spec);
  std::vector<PaDeviceIndex> matches;
  for (PaDeviceIndex i = 0; i < count; ++i) {
    const PaDeviceInfo* info = Pa_GetDeviceInfo(i);
    if (info == nullptr || channels_of(*info, direction) < 1) continue;
    const std::string name = lower(info->name);
    if (name == wanted) return i;
    if (name.find(wanted) != std::string::npos) matches.push_back(i);
  }
  if (matches.empty()) {
    return Status::not_found("no audio " + kind + " device matches '" + spec +
                             "' (see `sotto audio devices`); " + hint);
  }
  if (matches.size() > 1) {
    std::string names;
    for (PaDeviceIndex i : matches) {
      names +=
          (names.empty() ? "" : ", ") + std::to_string(i) + " '" + Pa_GetDeviceInfo(i)->name + "'";
    }
    return Status::invalid_argument("'" + spec + "' matches several audio " + kind + " devices (" +
                                    names + "); name one exactly or by number, or " + hint);
  }
  return matches.front();
}

// An open, running stream and what it needs. Declared so that the stream is destroyed first and
// the library reference last (see the file comment).
struct OpenStream {
  PortAudioLibrary library;
  std::unique_ptr<Shared> shared;
  Stream stream;
  std::string description;
};

// `ring_frames`: capacity of the ring in frames (see the callers for the arithmetic).
Result<OpenStream> open_stream(const std::string& spec, Direction direction, int frame_samples,
                               int ring_frames) {
  const std::string hint = file_hint(direction);
  if (frame_samples <= 0 || frame_samples > kSampleRateHz) {
    return Status::invalid_argument("audio device frames must be 1 to 48000 samples, not " +
                                    std::to_string(frame_samples));
  }
  SOTTO_ASSIGN_OR_RETURN(PortAudioLibrary library, PortAudioLibrary::acquire(hint));
  std::lock_guard lock(pa_mutex());
  SOTTO_ASSIGN_OR_RETURN(const PaDeviceIndex index, find_device(spec, direction));
  const PaDeviceInfo& info = *Pa_GetDeviceInfo(index);
  const std::string label = device_label(index, info);
  const bool input = direction == Direction::kInput;

  PaStreamParameters params{};
  params.device = index;
  params.channelCount = 1;
  params.sampleFormat = paInt16;
  // The low suggested latency: capture and playback delay add straight to mouth-to-ear delay.
  params.suggestedLatency = input ? info.defaultLowInputLatency : info.defaultLowOutputLatency;
  params.hostApiSpecificStreamInfo = nullptr;
  const PaStreamParameters* in_params = input ? &params : nullptr;
  const PaStreamParameters* out_params = input ? nullptr : &params;

  PaError error = Pa_IsFormatSupported(in_params, out_params, kSampleRateHz);
  if (error == paInvalidChannelCount && channels_of(info, direction) >= 2) {
    params.channelCount = 2;  // a stereo-only device: the callback converts
    error = Pa_IsFormatSupported(in_params, out_params, kSampleRateHz);
  }
  if (error == paInvalidSampleRate) {
    const std::string rate = std::to_string(static_cast<int>(info.defaultSampleRate));
    // JACK runs every client at the server's one rate, so no other JACK device would do.
    const PaHostApiInfo* host = Pa_GetHostApiInfo(info.hostApi);
    if (host != nullptr && host->type == paJACK) {
      return Status::invalid_argument(label + ": the JACK server runs at " + rate +
                                      " Hz and sotto at 48 kHz; restart JACK at 48000 Hz " +
                                      "(jackd -r 48000), or " + hint);
    }
    return Status::invalid_argument(label + " cannot run at 48 kHz (its default rate is " + rate +
                                    " Hz); choose another device from `sotto audio devices`, or " +
                                    hint);
  }
  if (error != paNoError) return status_from_pa(error, "opening " + label, hint);

  auto shared = std::make_unique<Shared>(static_cast<size_t>(ring_frames) * frame_samples,
                                         params.channelCount);
  PaStream* raw = nullptr;
  error = Pa_OpenStream(&raw, in_params, out_params, kSampleRateHz,
                        static_cast<unsigned long>(frame_samples), paNoFlag,
                        input ? &capture_callback : &playback_callback, shared.get());
  if (error != paNoError) return status_from_pa(error, "opening " + label, hint);
  Stream stream(raw);
  error = Pa_StartStream(stream.get());
  if (error != paNoError) return status_from_pa(error, "starting " + label, hint);

  const PaHostApiInfo* host = Pa_GetHostApiInfo(info.hostApi);
  std::string description = label + (host ? std::string(" (") + host->name + ")" : "");
  if (params.channelCount == 2) description += input ? ", stereo mixed to mono" : ", mono on both";
  return OpenStream{std::move(library), std::move(shared), std::move(stream),
                    std::move(description)};
}

// Capture ring sizing: 16 frames (320 ms at 20 ms) absorbs any host burst and a reader that was
// descheduled for a while. A reader that falls more than kMaxBacklogFrames (160 ms) behind has its
// oldest audio discarded down to kKeptFrames, so a stall never turns into lasting delay.
constexpr int kCaptureRingFrames = 16;
constexpr int kMaxBacklogFrames = 8;
constexpr int kKeptFrames = 2;
// A device that delivers nothing for this long has stopped (unplugged, host error).
constexpr auto kStallTimeout = std::chrono::seconds(2);

class DeviceSource final : public AudioSource {
 public:
  DeviceSource(OpenStream open, int frame_samples)
      : open_(std::move(open)), frame_samples_(frame_samples) {}

  Result<bool> read(std::span<int16_t> frame) override {
    if (frame.size() != static_cast<size_t>(frame_samples_)) {
      return Status::invalid_argument(description() + " reads frames of " +
                                      std::to_string(frame_samples_) + " samples, not " +
                                      std::to_string(frame.size()));
    }
    RingBuffer& ring = open_.shared->ring;
    const size_t n = frame.size();
    if (ring.readable() > kMaxBacklogFrames * n) {
      size_t excess = ring.readable() - kKeptFrames * n;
      open_.shared->dropped.fetch_add(excess, std::memory_order_relaxed);
      while (excess > 0) excess -= ring.pop(frame.first(std::min(excess, n)));
    }
    auto last_progress = std::chrono::steady_clock::now();
    size_t last_readable = ring.readable();
    while (ring.readable() < n) {
      if (interrupted_.load(std::memory_order_relaxed)) return false;
      const auto now = std::chrono::steady_clock::now();
      if (ring.readable() != last_readable) {
        last_readable = ring.readable();
        last_progress = now;
      } else if (now - last_progress > kStallTimeout) {
        return Status::unavailable(description() + " stopped delivering audio; " +
                                   file_hint(Direction::kInput));
      }
      // Sleep about as long as the missing samples take to arrive, within 1..20 ms.
      const auto missing_us = static_cast<int64_t>(n - ring.readable()) * 1'000'000 / kSampleRateHz;
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::clamp<int64_t>(missing_us, 1000, 20000)));
    }
    ring.pop(frame);
    return true;
  }

  void interrupt() override { interrupted_.store(true, std::memory_order_relaxed); }
  std::string description() const override { return open_.description; }
  uint64_t dropped_samples() const override {
    return open_.shared->dropped.load(std::memory_order_relaxed);
  }
  AudioDeviceStats device_stats() const override { return open_.shared->stats.snapshot(); }

 private:
  OpenStream open_;
  int frame_samples_;
  std::atomic<bool> interrupted_{false};
};

// Playback queue: at most kQueueFrames (80 ms at 20 ms frames) waiting for the device. The jitter
// buffer upstream absorbs network jitter; this only covers the gap between the node's clock and
// the device callback, so more would only add delay.
constexpr int kQueueFrames = 4;

class DeviceSink final : public AudioSink {
 public:
  DeviceSink(OpenStream open, int frame_samples)
      : open_(std::move(open)), queue_limit_(static_cast<size_t>(kQueueFrames) * frame_samples) {}
  ~DeviceSink() override { (void)close(); }

  Status write(std::span<const int16_t> frame) override {
    if (!open_.stream)
      return Status::invalid_argument("writing to " + description() + " after close");
    RingBuffer& ring = open_.shared->ring;
    if (ring.readable() + frame.size() > queue_limit_) {
      open_.shared->dropped.fetch_add(frame.size(), std::memory_order_relaxed);
      return Status::ok();
    }
    ring.push(frame);
    return Status::ok();
  }

  Status close() override {
    if (!open_.stream) return Status::ok();
    // Let the queue play out (at most kQueueFrames of audio), then stop, which plays what the
    // host still buffers.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (open_.shared->ring.readable() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    PaError error;
    {
      std::lock_guard lock(pa_mutex());
      error = Pa_StopStream(open_.stream.get());
    }
    open_.stream.reset();
    if (error != paNoError) return status_from_pa(error, "stopping " + description());
    return Status::ok();
  }

  std::string description() const override { return open_.description; }
  uint64_t dropped_samples() const override {
    return open_.shared->dropped.load(std::memory_order_relaxed);
  }
  AudioDeviceStats device_stats() const override { return open_.shared->stats.snapshot(); }

 private:
  OpenStream open_;
  size_t queue_limit_;
};

}  // namespace

Result<std::vector<AudioDeviceInfo>> list_audio_devices() {
  SOTTO_ASSIGN_OR_RETURN(PortAudioLibrary library, PortAudioLibrary::acquire(""));
  std::lock_guard lock(pa_mutex());
  const PaDeviceIndex count = Pa_GetDeviceCount();
  if (count < 0) return status_from_pa(count, "listing audio devices");
  const PaDeviceIndex default_in = Pa_GetDefaultInputDevice();
  const PaDeviceIndex default_out = Pa_GetDefaultOutputDevice();
  std::vector<AudioDeviceInfo> devices;
  for (PaDeviceIndex i = 0; i < count; ++i) {
    const PaDeviceInfo* info = Pa_GetDeviceInfo(i);
    if (info == nullptr) continue;
    const PaHostApiInfo* host = Pa_GetHostApiInfo(info->hostApi);
    AudioDeviceInfo device;
    device.index = i;
    device.name = info->name != nullptr ? info->name : "";
    device.host_api = host != nullptr && host->name != nullptr ? host->name : "";
    device.max_input_channels = info->maxInputChannels;
    device.max_output_channels = info->maxOutputChannels;
    device.default_sample_rate = info->defaultSampleRate;
    device.default_input = i == default_in;
    device.default_output = i == default_out;
    devices.push_back(std::move(device));
  }
  return devices;
}

Result<std::unique_ptr<AudioSource>> open_device_source(const std::string& spec,
                                                        int frame_samples) {
  SOTTO_ASSIGN_OR_RETURN(OpenStream open,
                         open_stream(spec, Direction::kInput, frame_samples, kCaptureRingFrames));
  return std::unique_ptr<AudioSource>(
      std::make_unique<DeviceSource>(std::move(open), frame_samples));
}

Result<std::unique_ptr<AudioSink>> open_device_sink(const std::string& spec, int frame_samples) {
  // The ring holds the queue limit plus one frame of slack.
  SOTTO_ASSIGN_OR_RETURN(OpenStream open,
                         open_stream(spec, Direction::kOutput, frame_samples, kQueueFrames + 1));
  return std::unique_ptr<AudioSink>(std::make_unique<DeviceSink>(std::move(open), frame_samples));
}

}  // namespace sotto::voice
