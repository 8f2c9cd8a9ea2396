// The terminal UI in a real terminal: the real binary in a private tmux server (send-keys,
// capture-pane), beside a daemon on 127.0.0.1. Every step waits for what the screen shows, with
// a deadline; nothing sleeps a fixed time.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tmux_session.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kTmux = test::TmuxSession::kTmux;
constexpr const char* kNoTmux = test::TmuxSession::kMissing;
using Tmux = test::TmuxSession;

// False also while `to` is not yet known to the node (history refuses an unknown name).
bool has_message(const test::DaemonProfile& node, const std::string& to, const std::string& kind,
                 const std::string& body_part) {
  std::vector<json> history;
  try {
    history = node.history(to);
  } catch (const std::runtime_error&) {
    return false;
  }
  for (const json& m : history) {
    if (m.value("kind", "text") == kind &&
        m.value("body", "").find(body_part) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE(
    "the terminal UI creates a profile, adds and verifies a peer, writes both ways, runs a "
    "channel with push-to-talk, plays a clip back, resizes and quits cleanly",
    "[tui][integration]") {
  SOTTO_SKIP_UNLESS(access(kTmux, X_OK) == 0, kNoTmux);
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir tmp;
  const std::string speech = tmp / "speech.wav";
  test::write_speech(speech, test::alsa_speech({"Front_Center"}));
  const std::string heard = tmp / "heard";
  std::filesystem::create_directories(heard);
  const std::string dir = tmp / "bob";

  test::DaemonProfile alice("alice");
  alice.start();

  Tmux ui(
      {test::sotto_binary(), "--profile", dir, "--listen", "tcp://127.0.0.1:0", "--no-discovery",
       "--peer", alice.endpoint(), "--audio-in", speech, "--audio-out", heard},
      80, 24);

  // First run: the profile is created inside the UI; the passphrase is never shown, not while
  // it is typed either. Its strength reads "strong" only once its last character (the digit)
  // is in, so the screen that says so was drawn with all of it typed.
  const std::string passphrase = "correct horse battery 7";
  auto shows_passphrase = [](const std::string& screen) {
    for (const char* word : {"correct", "horse", "battery"}) {
      if (screen.find(word) != std::string::npos) return true;
    }
    return false;
  };
  REQUIRE(ui.wait_for("No profile yet"));
  ui.line("bob");
  REQUIRE(ui.wait_for("Passphrase:"));
  ui.type(passphrase);
  REQUIRE(ui.wait_for("strength: strong"));
  CHECK(ui.last().find("(typing hidden)") != std::string::npos);
  CHECK_FALSE(shows_passphrase(ui.last()));
  ui.key("Enter");
  REQUIRE(ui.wait_for("Repeat passphrase:"));
  // The repeat has no strength line: every screen until it is accepted is looked at instead.
  ui.type(passphrase);
  REQUIRE(test::wait_until(
      [&] {
        const std::string screen = ui.screen();
        CHECK_FALSE(shows_passphrase(screen));
        // Both fields now say so: the passphrase's and the repeat's.
        const size_t first = screen.find("(typing hidden)");
        return first != std::string::npos &&
               screen.find("(typing hidden)", first + 1) != std::string::npos;
      },
      10s));
  ui.key("Enter");
  REQUIRE(ui.wait_for("CHANNELS", 20s));
  CHECK_FALSE(shows_passphrase(ui.last()));
  CHECK(std::filesystem::exists(dir + "/sotto.hdr"));
  CHECK(std::filesystem::exists(dir + "/tui.log"));

  // The daemon shows up nearby; add it and verify its safety number in the dialog.
  // Nearby, nameless: Alice shows her name to contacts and to nodes she dialled, not to Bob;
  // typing it finds her all the same.
  REQUIRE(ui.wait_for("● ? " + alice.fingerprint().substr(0, 8)));
  ui.line("/add alice");
  REQUIRE(ui.wait_for("added alice"));
  CHECK(ui.last().find(" alice !") != std::string::npos);
  ui.line("/verify alice");
  REQUIRE(ui.wait_for("safety number with alice"));
  ui.type("y");
  REQUIRE(ui.wait_for("alice is verified ✔"));
  REQUIRE(ui.wait_for("● alice ✔"));

  // Text both ways, in the open conversation.
  ui.type("/open al");
  ui.key("Tab");  // completes to "/open alice "
  REQUIRE(ui.wait_for("/open alice"));
  ui.key("Enter");
  REQUIRE(ui.wait_for("✔ verified"));
  ui.line("hello from the terminal");
  REQUIRE(test::wait_until(
      [&] { return has_message(alice, "bob", "text", "hello from the terminal"); }, 10s));
  REQUIRE(ui.wait_for("me: hello from the terminal ✓✓"));
  auto sent = alice.sotto({"send", "bob", "hi from the daemon"});
  REQUIRE(sent.exit_code == 0);
  REQUIRE(ui.wait_for("alice: hi from the daemon"));

  // A channel, with alice invited; its header shows the security code.
  ui.line("/channel create ops");
  REQUIRE(ui.wait_for("created #ops"));
  ui.line("/channel invite ops alice");
  REQUIRE(ui.wait_for("invited alice to #ops", 15s));
  // Alice has not verified bob: for her it is an invitation, which she accepts after comparing.
  alice.accept_invitation(alice.contact("bob")->value("fingerprint", ""), "ops");
  REQUIRE(ui.wait_for("all verified"));
  CHECK(ui.last().find("code ") != std::string::npos);
  REQUIRE(test::wait_until(
      [&] {
        return alice.sotto({"channel", "roster", "ops"}).exit_code == 0;
      },
      10s));

  // Push-to-talk from the WAV "microphone": ON AIR with a meter, then the clip at both ends.
  ui.key("F5");
  REQUIRE(ui.wait_for("ON AIR #ops"));
  REQUIRE(ui.wait_for("ON AIR #ops 1."));  // a second on air
  ui.key("F5");
  REQUIRE(ui.wait_for("▶ me: voice clip"));
  CHECK(ui.wait_for("PTT off"));
  REQUIRE(test::wait_until([&] { return has_message(alice, "#ops", "voice", "voice clip"); }, 10s));

  // alice talks; the transmission arrives and plays back to a WAV file.
  auto talked = alice.sotto({"talk", "#ops", "--wav", speech});
  REQUIRE(talked.exit_code == 0);
  REQUIRE(ui.wait_for("▶ alice: voice clip"));
  std::string clip;
  for (const json& m : alice.history("#ops")) {
    if (m.value("kind", "") == "voice" && m.value("outgoing", false)) clip = m.value("id", "");
  }
  REQUIRE(clip.size() >= 8);
  ui.line("/play " + clip.substr(0, 8) + " --wav " + clip.substr(0, 8) + ".wav");
  REQUIRE(ui.wait_for("signature valid"));
  CHECK(std::filesystem::exists(dir + "/played/" + clip.substr(0, 8) + ".wav"));

  // The help overlay opens and closes.
  ui.key("F1");
  REQUIRE(ui.wait_for("keys and commands"));
  ui.key("Escape");
  REQUIRE(test::wait_until(
      [&] { return ui.screen().find("keys and commands") == std::string::npos; }, 5s));

  // Resize: the layout follows the new size.
  ui.resize(200, 50);
  REQUIRE(test::wait_until(
      [&] {
        const std::string s = ui.screen();
        if (std::count(s.begin(), s.end(), '\n') < 49) return false;
        // The status bar reaches the right edge of the wider pane.
        const size_t help = s.find(" F1 help");
        const size_t line_start = s.rfind('\n', help);
        return help != std::string::npos && help - line_start > 150 &&
               s.find("voice clip") != std::string::npos;
      },
      10s));
  const std::string wide = ui.screen();
  UNSCOPED_INFO("200x50:\n" << wide);

  // And back: every cell is repainted (nothing left over from the wide layout).
  ui.resize(80, 24);
  REQUIRE(test::wait_until(
      [&] {
        const std::string s = ui.screen();
        return s.rfind("CHANNELS", 0) == 0 && std::count(s.begin(), s.end(), '\n') <= 24 &&
               s.find(" F1 help") != std::string::npos;
      },
      10s));

  // Quit: the program ends with 0 and the shell's line shows on the restored terminal.
  ui.line("/quit");
  REQUIRE(ui.wait_for("sotto exited 0"));
  CHECK(ui.last().find("CHANNELS") == std::string::npos);
}

TEST_CASE("the unlock screen says when the passphrase is wrong and lets the user retry",
          "[tui][integration]") {
  SOTTO_SKIP_UNLESS(access(kTmux, X_OK) == 0, kNoTmux);
  test::DaemonProfile carol("carol");  // made by `sotto init`; not started
  Tmux ui({test::sotto_binary(), "--profile", carol.dir(), "--listen", "tcp://127.0.0.1:0",
           "--no-discovery"},
          80, 24);
  REQUIRE(ui.wait_for("Unlock the profile"));
  ui.line("not the passphrase");
  REQUIRE(ui.wait_for("wrong passphrase"));
  const std::string pass = carol.passphrase();
  ui.line(pass);
  REQUIRE(ui.wait_for("Welcome, carol."));
  ui.key("C-q");
  REQUIRE(ui.wait_for("sotto exited 0"));
}

TEST_CASE(
    "F12 and sotto lock take the terminal UI back to its unlock screen, passphrase file or not",
    "[tui][lock][integration]") {
  SOTTO_SKIP_UNLESS(access(kTmux, X_OK) == 0, kNoTmux);
  test::DaemonProfile carol("carol");
  Tmux ui({test::sotto_binary(), "--profile", carol.dir(), "--passphrase-file",
           carol.passphrase_file(), "--listen", "tcp://127.0.0.1:0", "--no-discovery"},
          80, 24);
  REQUIRE(ui.wait_for("Welcome, carol."));
  const std::string pass = carol.passphrase();

  // The key: the UI stays up, the archive closes; the passphrase file is not used again.
  ui.key("F12");
  REQUIRE(ui.wait_for("Unlock the profile"));
  CHECK(carol.sotto({"history"}).exit_code != 0);
  ui.line(pass);
  REQUIRE(ui.wait_for("Welcome, carol."));

  // From another terminal.
  auto locked = carol.sotto({"lock"});
  INFO(locked.err);
  CHECK(locked.exit_code == 0);
  REQUIRE(ui.wait_for("Unlock the profile"));
  ui.line(pass);
  REQUIRE(ui.wait_for("Welcome, carol."));
  ui.key("C-q");
  REQUIRE(ui.wait_for("sotto exited 0"));
}
