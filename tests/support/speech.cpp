#include "tests/support/speech.h"

#include <filesystem>
#include <stdexcept>

#include "sotto/voice/wav.h"

namespace sotto::test {

bool have_alsa_speech() {
  return std::filesystem::exists(std::string(kAlsaSounds) + "/Front_Center.wav");
}

std::vector<int16_t> alsa_speech(const std::vector<std::string>& names) {
  std::vector<int16_t> out;
  for (const auto& name : names) {
    const std::string path = std::string(kAlsaSounds) + "/" + name + ".wav";
    auto wav = voice::read_wav(path);
    if (!wav.is_ok()) throw std::runtime_error(path + ": " + wav.status().message());
    out.insert(out.end(), wav.value().samples.begin(), wav.value().samples.end());
  }
  return out;
}

void write_speech(const std::string& path, const std::vector<int16_t>& samples) {
  auto written = voice::write_wav(path, samples);
  if (!written.is_ok()) throw std::runtime_error(path + ": " + written.message());
}

}  // namespace sotto::test
