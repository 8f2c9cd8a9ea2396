// The voice commands of the CLI contract (man sotto, issue 6) against real daemons:
// `sotto talk CHANNEL --wav FILE`, the daemon's `--audio-out DIR`, `sotto play MSGID --wav OUT`
// with a node and without, the transmission figures in `sotto channel roster`; bad input refused
// with one line on stderr and exit 2; no node: exit 1.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
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
using test::wait_until;

namespace {

std::vector<std::string> wav_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".wav") out.push_back(entry.path().string());
  }
  return out;
}

bool has_body(const DaemonProfile& node, const std::string& body) {
  auto history = node.history("#ops");
  return std::any_of(history.begin(), history.end(),
                     [&](const json& m) { return m.value("body", "") == body; });
}

}  // namespace

TEST_CASE(
    "sotto talk transmits a recording; the daemon writes it out; sotto play decodes the archived "
    "clip with or without a node; bad input is refused",
    "[voice][cli][integration]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir tmp;
  const std::string heard_dir = tmp / "heard";
  std::filesystem::create_directories(heard_dir);
  const std::string speech = tmp / "speech.wav";
  test::write_speech(speech, test::alsa_speech({"Front_Center"}));

  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  alice.start();
  bob.start({"--peer", alice.endpoint(), "--audio-out", heard_dir});
  REQUIRE(wait_until([&] { return alice.peer_state("bob") == "online"; }, 8s));
  alice.sotto_ok({"add", "bob"});
  alice.sotto_ok({"verify", "bob", "--confirm"});
  alice.sotto_ok({"channel", "create", "ops"});
  alice.sotto_ok({"channel", "invite", "ops", "bob"});
  bob.accept_invitation(alice.fingerprint(), "ops");
  // Text both ways first: sender keys are in place before anyone talks.
  REQUIRE(wait_until([&] { return bob.sotto({"send", "#ops", "bob here"}).exit_code == 0; }, 8s));
  REQUIRE(wait_until([&] { return has_body(alice, "bob here"); }, 8s));
  alice.sotto_ok({"send", "#ops", "alice here"});
  REQUIRE(wait_until([&] { return has_body(bob, "alice here"); }, 8s));

  const std::string out = alice.sotto_ok({"--json", "talk", "#ops", "--wav", speech});
  const json message = json::parse(out);
  CHECK(message.value("kind", "") == "voice");
  CHECK(message.value("channel", "") == "ops");
  const std::string id = message.value("id", "");
  REQUIRE(id.size() == 32);

  REQUIRE(wait_until([&] { return wav_files(heard_dir).size() == 1; }, 5s));
  REQUIRE(wait_until(
      [&] {
        auto history = bob.history("#ops");
        return std::any_of(history.begin(), history.end(), [&](const json& m) {
          return m.value("kind", "") == "voice" && m.value("id", "") == id;
        });
      },
      5s));
  // The roster shows how the transmission went.
  const json roster = json::parse(bob.sotto_ok({"--json", "channel", "roster", "ops"}));
  REQUIRE(roster.contains("voice"));
  REQUIRE(roster["voice"].size() == 1);
  const json stats = roster["voice"][0];
  CHECK(stats.value("id", "") == id);
  CHECK(stats.value("frames_received", 0) == stats.value("frames_sent", -1));
  CHECK(stats.value("frames_lost", -1) == 0);
  CHECK(stats.value("delay_max_ms", -1.0) >= 0.0);
  CHECK(bob.sotto_ok({"channel", "roster", "ops"}).find("latest transmissions") !=
        std::string::npos);

  const std::string with_node = tmp / "with_node.wav";
  const std::string played = bob.sotto_ok({"play", id.substr(0, 10), "--wav", with_node});
  CHECK(played.find("signature valid") != std::string::npos);
  auto decoded = voice::read_wav(with_node);
  REQUIRE(decoded.is_ok());
  CHECK(decoded.value().samples.size() >= 48'000);

  // Bad input: one line on stderr, exit 2.
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"talk", "ops", "--wav", tmp / "missing.wav"},
        std::vector<std::string>{"talk", "nosuchchannel", "--wav", speech},
        std::vector<std::string>{"play", "not-hex", "--wav", tmp / "x.wav"},
        std::vector<std::string>{"play", "0123456789abcdef", "--wav", tmp / "x.wav"}}) {
    auto result = alice.sotto(bad);
    INFO(bad[0] << " " << bad[1] << ": exit " << result.exit_code << " " << result.err);
    CHECK(result.exit_code == 2);
    CHECK(one_line_error(result));
  }

  // No node: talk says so (exit 1); play reads the archive itself.
  bob.stop();
  auto no_node = bob.sotto({"talk", "ops", "--wav", speech});
  CHECK(no_node.exit_code == 1);
  CHECK(one_line_error(no_node));
  const std::string offline = tmp / "offline.wav";
  auto unlocked = bob.sotto_unlocked({"play", id, "--wav", offline});
  INFO(unlocked.err);
  REQUIRE(unlocked.exit_code == 0);
  CHECK(unlocked.out.find("signature valid") != std::string::npos);
  auto again = voice::read_wav(offline);
  REQUIRE(again.is_ok());
  CHECK(again.value().samples == decoded.value().samples);
}
