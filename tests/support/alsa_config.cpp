#include "tests/support/alsa_config.h"

#include <cstdlib>
#include <filesystem>

namespace sotto::test {
namespace {

constexpr const char* kVariable = "ALSA_CONFIG_PATH";

// Debian's configuration, then every card's control and PCM redefined to a plugin ALSA cannot
// load: snd_card_next still finds a card, but PortAudio cannot open it and leaves it out.
constexpr const char* kNoCards = R"(</usr/share/alsa/alsa.conf>
ctl.!hw { @args [ CARD ] @args.CARD { type string } type sotto_no_such_plugin }
pcm.!hw {
  @args [ CARD DEV SUBDEV ]
  @args.CARD { type string }
  @args.DEV { type integer }
  @args.SUBDEV { type integer }
  type sotto_no_such_plugin
}
)";

}  // namespace

AlsaConfig::AlsaConfig() {
  install("");
}

AlsaConfig::AlsaConfig(const std::vector<int16_t>& recording) {
  Bytes raw;
  for (int16_t s : recording) append_le16(raw, static_cast<uint16_t>(s));
  write_file(dir_ / "recording.raw", raw);
  install(std::string("pcm.") + kDevice + " {\n  type file\n  slave.pcm \"null\"\n  file \"" +
          (dir_ / "played.raw") + "\"\n  infile \"" + (dir_ / "recording.raw") +
          "\"\n  format \"raw\"\n}\n");
}

void AlsaConfig::install(const std::string& devices) {
  write_file(dir_ / "asound.conf", std::string(kNoCards) + devices);
  if (const char* was = std::getenv(kVariable)) previous_ = was;
  ::setenv(kVariable, (dir_ / "asound.conf").c_str(), 1);
}

AlsaConfig::~AlsaConfig() {
  if (previous_) {
    ::setenv(kVariable, previous_->c_str(), 1);
  } else {
    ::unsetenv(kVariable);
  }
}

std::vector<int16_t> AlsaConfig::played() const {
  std::vector<int16_t> out;
  const std::string path = dir_ / "played.raw";
  if (!std::filesystem::exists(path)) return out;
  const Bytes raw = read_file(path);
  out.reserve(raw.size() / 2);
  for (size_t i = 0; i + 1 < raw.size(); i += 2) {
    out.push_back(static_cast<int16_t>(raw[i] | (raw[i + 1] << 8)));
  }
  return out;
}

}  // namespace sotto::test
