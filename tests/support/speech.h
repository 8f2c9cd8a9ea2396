// Real recorded speech for voice tests, from Debian's alsa-utils (installed by `make deps`): the
// sample sounds in /usr/share/sounds/alsa/ ("Front center", "Front left", ...), 48 kHz mono.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sotto::test {

constexpr const char* kAlsaSounds = "/usr/share/sounds/alsa";

// True when the alsa-utils sample sounds are installed.
bool have_alsa_speech();
// The named samples (e.g. "Front_Center") joined into one clip. Throws when one is missing.
std::vector<int16_t> alsa_speech(const std::vector<std::string>& names);
// Writes `samples` as a 48 kHz mono WAV file at `path`. Throws on failure.
void write_speech(const std::string& path, const std::vector<int16_t>& samples);

}  // namespace sotto::test
