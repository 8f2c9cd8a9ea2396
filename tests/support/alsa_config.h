// ALSA as a test sets it up, so that the audio device tests see the same devices on every
// machine: none, or exactly one virtual device, whether or not the machine has a sound card.
//
// It points ALSA_CONFIG_PATH (for this process and the processes it starts) at a file that
// loads Debian's own configuration, makes every sound card unreachable (its "hw" control and PCM
// name a plugin that does not exist, so PortAudio passes the card over), and with a recording
// adds kDevice: ALSA's "file" plugin over its "null" one, whose capture reads the recording from
// a file and whose playback writes into another. PortAudio lists kDevice and opens it like any
// card, so the real device code runs: stream set-up, callbacks, the rings, stop and close.
//
// The null plugin keeps no time: kDevice's callbacks run as fast as the device thread can go, not
// at 48 kHz. Tests of it look at what the samples are, never at when they come, and keep its
// streams open briefly (playback writes silence into played() all the while, megabytes a second).
//
// Thread-safety: changes the environment; construct and destroy it while no other thread of
// the process reads it (between test cases, before starting nodes). PortAudio reads the
// configuration again each time it is initialised, which sotto does per device list or stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace sotto::test {

class AlsaConfig {
 public:
  static constexpr const char* kDevice = "sotto_test";

  // No audio device at all.
  AlsaConfig();
  // kDevice, recording `recording` (48 kHz mono, played once, then silence).
  explicit AlsaConfig(const std::vector<int16_t>& recording);
  ~AlsaConfig();
  AlsaConfig(const AlsaConfig&) = delete;
  AlsaConfig& operator=(const AlsaConfig&) = delete;

  // Everything played on kDevice so far (48 kHz mono).
  std::vector<int16_t> played() const;

 private:
  void install(const std::string& devices);

  TempDir dir_;
  std::optional<std::string> previous_;
};

}  // namespace sotto::test
