// Ogg Opus out (man sotto, issue 25): `sotto play MSGID --ogg FILE` and `sotto export` (whose
// voice clips are Ogg Opus by default) against real daemons and offline, checked by opus-tools:
// opusinfo accepts every file without a warning, and opusdec decodes it to the samples
// `sotto play --wav` writes for the same clip, once the pre-skip is dropped.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sotto/voice/wav.h"
#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using test::DaemonProfile;

namespace {

// The encoder delay of sotto's Opus profile (48 kHz, VOIP): what the OpusHead must say.
constexpr size_t kPreSkip = 312;

constexpr const char* kOpusinfo = "/usr/bin/opusinfo";
constexpr const char* kOpusdec = "/usr/bin/opusdec";

bool have_opus_tools() {
  return ::access(kOpusinfo, X_OK) == 0 && ::access(kOpusdec, X_OK) == 0;
}

Bytes file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// opusinfo's verdict: exit 0 and no warning (granule positions, pre-skip, page layout); its
// report, which lists the tags.
std::string check_opusinfo(const std::string& file) {
  auto info = test::run_command(kOpusinfo, {file});
  INFO(file << "\n" << info.out << info.err);
  CHECK(info.exit_code == 0);
  const std::string all = info.out + info.err;
  CHECK(all.find("WARNING") == std::string::npos);
  CHECK(all.find("Warning") == std::string::npos);
  CHECK(all.find("ERROR") == std::string::npos);
  CHECK(all.find("Pre-skip: " + std::to_string(kPreSkip)) != std::string::npos);
  return info.out;
}

// opusdec at sotto's rate and without dither (which adds noise of its own) against the WAV
// decode: equal, sample for sample. Both run Debian's libopus, a floating-point build, on the same
// packets from the same state, and round its float output to 16 bits once, to nearest (opusdec
// with --no-dither; opus_decode inside libopus), so there is no rounding step that could differ
// by an LSB. Only the start differs: the WAV keeps the encoder's delay, the pre-skip drops it.
void check_decodes_like_wav(const std::string& ogg, const std::vector<int16_t>& wav,
                            const std::string& scratch) {
  auto decoded =
      test::run_command(kOpusdec, {"--quiet", "--rate", "48000", "--no-dither", ogg, scratch});
  INFO(decoded.err);
  REQUIRE(decoded.exit_code == 0);
  auto pcm = voice::read_wav(scratch);
  REQUIRE(pcm.is_ok());
  const std::vector<int16_t>& samples = pcm.value().samples;
  REQUIRE(wav.size() > kPreSkip);
  REQUIRE(samples.size() == wav.size() - kPreSkip);
  size_t differing = 0;
  for (size_t i = 0; i < samples.size(); ++i) differing += samples[i] != wav[i + kPreSkip] ? 1 : 0;
  CHECK(differing == 0);
}

}  // namespace

TEST_CASE(
    "sotto play --ogg and sotto export write Ogg Opus that opusinfo accepts and opusdec decodes "
    "to the WAV's samples; a bad id is refused",
    "[voice][cli][integration][ogg]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  SOTTO_SKIP_UNLESS(have_opus_tools(), "opus-tools missing (run make deps)");
  test::TempDir tmp;
  const std::string speech = tmp / "speech.wav";
  test::write_speech(speech, test::alsa_speech({"Front_Center"}));

  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  test::share_channel(alice, bob, "bob", "ops");

  const json message = json::parse(alice.sotto_ok({"--json", "talk", "#ops", "--wav", speech}));
  const std::string id = message.value("id", "");
  REQUIRE(id.size() == 32);
  REQUIRE(test::wait_until(
      [&] {
        auto history = bob.history("#ops");
        return std::any_of(history.begin(), history.end(),
                           [&](const json& m) { return m.value("id", "") == id; });
      },
      8s));

  // --- play: the listener's archive, through the node ---
  const std::string wav = tmp / "clip.wav";
  bob.sotto_ok({"play", id, "--wav", wav});
  auto decoded = voice::read_wav(wav);
  REQUIRE(decoded.is_ok());
  const std::string ogg = tmp / "clip.opus";
  const json played = json::parse(bob.sotto_ok({"--json", "play", id.substr(0, 12), "--ogg", ogg}));
  CHECK(played.value("ogg", "") == ogg);
  CHECK_FALSE(played.contains("wav"));
  CHECK(played.value("signature_valid", false));
  CHECK(played.value("frames", int64_t{0}) * 960 ==
        static_cast<int64_t>(decoded.value().samples.size()));
  const std::string report = check_opusinfo(ogg);
  for (const std::string& tag :
       {std::string("ARTIST=alice"), "SOTTO_TALKER_FINGERPRINT=" + alice.fingerprint(),
        std::string("SOTTO_CHANNEL=#ops"), std::string("SOTTO_SIGNATURE=valid"),
        "SOTTO_MESSAGE_ID=" + id, std::string("DATE=20")}) {
    INFO(report);
    CHECK(report.find(tag) != std::string::npos);
  }
  check_decodes_like_wav(ogg, decoded.value().samples, tmp / "opusdec.wav");
  const std::string human = bob.sotto_ok({"play", id, "--ogg", tmp / "human.opus"});
  CHECK(human.find("signature valid") != std::string::npos);

  // --- export: Ogg Opus by default, the talker's own archive ---
  const std::string file = tmp / "export.jsonl";
  alice.sotto_ok({"export", "--out", file});
  const Bytes jsonl = file_bytes(file);
  std::vector<json> lines = test::json_lines(std::string(jsonl.begin(), jsonl.end()));
  const auto voice = std::find_if(lines.begin(), lines.end(),
                                  [&](const json& m) { return m.value("id", "") == id; });
  REQUIRE(voice != lines.end());
  CHECK_FALSE(voice->contains("wav"));
  const std::string exported = tmp / voice->value("ogg", "");
  CHECK(exported == file + ".voice/" + id + ".opus");
  check_opusinfo(exported);
  check_decodes_like_wav(exported, decoded.value().samples, tmp / "exported.wav");

  // --- bad input: one line on stderr, exit 2 ---
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"play", "not-hex", "--ogg", tmp / "x.opus"},
        std::vector<std::string>{"play", "0123456789abcdef", "--ogg", tmp / "x.opus"},
        std::vector<std::string>{"play", id},
        std::vector<std::string>{"play", id, "--ogg", tmp / "x.opus", "--wav", tmp / "x.wav"},
        std::vector<std::string>{"export", "--out", tmp / "x.jsonl", "--voice", "mp3"}}) {
    auto result = bob.sotto(bad);
    INFO(bad[0] << " " << bad[1] << ": exit " << result.exit_code << " " << result.err);
    CHECK(result.exit_code == 2);
    CHECK(test::one_line_error(result));
  }
  CHECK_FALSE(std::filesystem::exists(tmp / "x.opus"));

  // --- no node: the same bytes from the archive read here ---
  bob.stop();
  const std::string offline = tmp / "offline.opus";
  auto unlocked = bob.sotto_unlocked({"play", id, "--ogg", offline});
  INFO(unlocked.err);
  REQUIRE(unlocked.exit_code == 0);
  CHECK(file_bytes(offline) == file_bytes(ogg));
  auto unknown = bob.sotto_unlocked({"play", "0123456789abcdef", "--ogg", offline});
  CHECK(unknown.exit_code == 2);
  CHECK(test::one_line_error(unknown));
}
