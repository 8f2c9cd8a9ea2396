// The real audio path (issue 25): push-to-talk between two in-process nodes whose sound devices
// are PortAudio devices on a JACK server of the test's own (tests/support/jack_server.h), chosen
// by the names `sotto audio devices` lists, as a user passes them to --audio-in / --audio-out.
// The talker captures a JACK client that beeps; the listener plays on the server's own device.
// Frames go through PortAudio's real callbacks at JACK's pace, and the callbacks' own tallies
// (the node counters audio_callbacks, audio_xruns, audio_callback_max_us, audio_peak_sample)
// show that they ran every period, never came too late, and moved sound. Then the same from the
// terminal UI: F5 pressed and released in tmux, capturing from the server's own device.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/alsa_config.h"
#include "tests/support/channel_lab.h"
#include "tests/support/daemon.h"
#include "tests/support/jack_server.h"
#include "tests/support/process.h"
#include "tests/support/profile_node.h"
#include "tests/support/skip.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tmux_session.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using test::JackServer;
using test::wait_until;

namespace {

// The issue asks for 30 s: long enough for a scheduling hiccup of the machine to show as an xrun.
// The whole test takes about this plus ten seconds of set-up.
constexpr auto kTalkTime = 30s;
constexpr int kFrameMs = 20;
constexpr uint64_t kTalkFrames = kTalkTime / std::chrono::milliseconds(kFrameMs);
constexpr int64_t kPeriodUs = 1'000'000LL * JackServer::kPeriodFrames / JackServer::kRateHz;
// "Never blocking": the callback only moves samples, which takes microseconds. A quarter of a
// period leaves room for the callback thread being preempted on a busy machine, and is still far
// from the period, past which JACK would count an xrun.
constexpr uint64_t kLongestCallbackUs = kPeriodUs / 4;

// The device `sotto audio devices` lists under `name` on the JACK host API, with `direction`
// ("max_input_channels" or "max_output_channels") channels, or "" when it lists none such.
std::string listed_jack_device(const std::string& name, const std::string& direction) {
  const test::CommandResult listed = test::run_sotto({"--json", "audio", "devices"});
  for (const std::string& line : test::lines_of(listed.out)) {
    const json device = json::parse(line);
    if (device.value("name", "") == name &&
        device.value("host_api", "").find("JACK") != std::string::npos &&
        device.value(direction, 0) >= 1) {
      return name;
    }
  }
  return "";
}

std::optional<core::MessageInfo> voice_message(const std::vector<core::MessageInfo>& history) {
  auto it = std::find_if(history.begin(), history.end(), [](const core::MessageInfo& m) {
    return m.kind == core::MessageKind::kVoice;
  });
  if (it == history.end()) return std::nullopt;
  return *it;
}

}  // namespace

TEST_CASE(
    "on a JACK server: a 30 s push-to-talk runs through the real capture and playback "
    "callbacks, every period, without an xrun, and the clip is as long as the talk",
    "[voice][jack][integration]") {
  SOTTO_SKIP_UNLESS(JackServer::installed(), "jackd2 is missing (run make deps)");
  test::AlsaConfig alsa;  // no ALSA device: the JACK server's are the only ones
  JackServer jack;
  jack.start_tone();
  const std::string microphone = listed_jack_device(JackServer::kToneDevice, "max_input_channels");
  const std::string speaker = listed_jack_device(JackServer::kSystemDevice, "max_output_channels");
  REQUIRE(microphone == JackServer::kToneDevice);
  REQUIRE(speaker == JackServer::kSystemDevice);

  test::ChannelLab lab({"alice", "bob"}, [&](const std::string& name, core::NodeOptions& o) {
    if (name == "alice") o.audio_in = microphone;
    if (name == "bob") o.audio_out = speaker;
  });
  test::open_channel(lab, "alice", "ops", {"bob"}, false);
  test::ProfileNode& alice = lab["alice"];
  test::ProfileNode& bob = lab["bob"];
  // Bob's speaker has played silence since his node started.
  REQUIRE(wait_until([&] { return bob.counter("audio_callbacks") > 0; }, 5s));
  const uint64_t bob_callbacks_before = bob.counter("audio_callbacks");

  const auto pressed = std::chrono::steady_clock::now();
  const Status on = alice.node().push_to_talk("#ops", true);
  INFO(on.message());
  REQUIRE(on.is_ok());
  // Frames are sent as the device captures them: the talk lasts until kTalkFrames have gone.
  CHECK(wait_until([&] { return alice.counter("voice_frames_sent") >= kTalkFrames; },
                   kTalkTime + 10s));
  REQUIRE(alice.node().push_to_talk("#ops", false).is_ok());
  const auto talked = std::chrono::steady_clock::now() - pressed;

  // The clip is archived on both sides, with a frame for every 20 ms of the talk.
  std::optional<core::MessageInfo> sent;
  REQUIRE(
      wait_until([&] { return (sent = voice_message(alice.history("#ops"))).has_value(); }, 10s));
  const std::string id = sent->id;
  REQUIRE(wait_until(
      [&] {
        const auto heard = voice_message(bob.history("#ops"));
        return heard && heard->id == id;
      },
      10s));
  test::TempDir out;
  auto clip = bob.node().play(id, out / "clip.wav");
  REQUIRE(clip.is_ok());
  CHECK(clip.value().signature_valid);
  const int64_t clip_ms = clip.value().frames * kFrameMs;
  const int64_t talk_ms = std::chrono::duration_cast<std::chrono::milliseconds>(talked).count();
  INFO("talked " << talk_ms << " ms, the clip is " << clip_ms << " ms");
  CHECK(clip.value().frames >= static_cast<int64_t>(kTalkFrames));
  CHECK(static_cast<uint64_t>(clip.value().frames) == alice.counter("voice_frames_sent"));
  CHECK(bob.counter("voice_frames_received") == static_cast<uint64_t>(clip.value().frames));
  // The device captures in real time, so the clip is never longer than the key was held.
  CHECK(clip_ms <= talk_ms);

  // The talker's capture callback ran once per JACK period of the talk, quickly, and the beeps
  // went through it; the listener's playback callback ran all along and played sound.
  INFO("alice: " << alice.counter("audio_callbacks") << " callbacks, the longest "
                 << alice.counter("audio_callback_max_us") << " us");
  INFO("bob: " << bob.counter("audio_callbacks") << " callbacks, the longest "
               << bob.counter("audio_callback_max_us") << " us");
  CHECK(alice.counter("audio_callbacks") >= kTalkFrames);
  CHECK(alice.counter("audio_callback_max_us") < kLongestCallbackUs);
  CHECK(alice.counter("audio_peak_sample") > 0);
  CHECK(bob.counter("audio_callbacks") - bob_callbacks_before >= kTalkFrames);
  CHECK(bob.counter("audio_callback_max_us") < kLongestCallbackUs);
  CHECK(bob.counter("audio_peak_sample") > 0);

  // Xruns. JACK tells every client of every xrun, whoever was late, and PortAudio flags the next
  // callback: a busy machine that keeps JACK's realtime threads off the CPU for a period shows
  // in sotto's counters too. sotto's own part is its callback's run time, checked above to be a
  // small part of a period. So: no more xruns counted than the server reported since it
  // started, and none at all when it reported none (a quiet machine).
  const std::vector<std::string> reports = jack.xrun_reports();
  for (const std::string& report : reports) UNSCOPED_INFO("jackd: " << report);
  INFO("xruns: alice " << alice.counter("audio_xruns") << ", bob " << bob.counter("audio_xruns")
                       << ", jackd " << reports.size());
  CHECK(alice.counter("audio_xruns") <= reports.size());
  CHECK(bob.counter("audio_xruns") <= reports.size());
  // Each xrun also costs the server's clock the time it was late, so only a run without them
  // shows the clip as long as the talk, short of the device's start-up and the frames in flight
  // when the key was released.
  if (reports.empty()) {
    CHECK(clip_ms >= talk_ms - 500);
  } else {
    test::unchecked("no xrun over the talk, and a clip as long as the talk: jackd reported " +
                    std::to_string(reports.size()) +
                    " xruns (the machine was too busy for JACK's 20 ms period)");
  }
}

TEST_CASE(
    "on a JACK server: F5 in the terminal UI talks from a PortAudio capture device, and the "
    "listener archives the clip",
    "[voice][jack][tui][integration]") {
  SOTTO_SKIP_UNLESS(JackServer::installed(), "jackd2 is missing (run make deps)");
  SOTTO_SKIP_UNLESS(test::TmuxSession::installed(), test::TmuxSession::kMissing);
  test::AlsaConfig alsa;
  JackServer jack;
  const std::string microphone =
      listed_jack_device(JackServer::kSystemDevice, "max_input_channels");
  REQUIRE(microphone == JackServer::kSystemDevice);

  test::DaemonProfile alice("alice");
  test::DaemonProfile bob("bob");
  alice.start();
  bob.start({"--peer", alice.endpoint()});
  test::open_channel(alice, bob, "bob", "ops");
  bob.stop();

  test::TmuxSession ui({test::sotto_binary(), "--profile", bob.dir(), "--passphrase-file",
                        bob.passphrase_file(), "--listen", "tcp://127.0.0.1:0", "--no-discovery",
                        "--peer", alice.endpoint(), "--audio-in", microphone},
                       80, 24);
  REQUIRE(ui.wait_for("Welcome, bob."));
  ui.line("/open #ops");
  REQUIRE(ui.wait_for("all verified"));
  ui.key("F5");
  REQUIRE(ui.wait_for("ON AIR #ops"));
  REQUIRE(ui.wait_for("ON AIR #ops 1."));  // a second on air
  ui.key("F5");
  REQUIRE(ui.wait_for("▶ me: voice clip"));

  // The clip reached alice whole, as long as bob held the key, and came from the device: its
  // capture callback ran for every frame.
  std::optional<json> heard;
  REQUIRE(wait_until(
      [&] {
        for (const json& m : alice.history("#ops")) {
          if (m.value("kind", "") == "voice") heard = m;
        }
        return heard.has_value();
      },
      10s));
  CHECK(heard->value("body", "").find("voice clip") != std::string::npos);
  const json counters = bob.stats();
  INFO(counters.dump());
  CHECK(counters.value("audio_callbacks", 0) >= counters.value("voice_frames_sent", 1));
  CHECK(counters.value("voice_frames_sent", 0) >= 1000 / kFrameMs);
  CHECK(counters.value("audio_callback_max_us", kLongestCallbackUs) < kLongestCallbackUs);
  ui.key("C-q");
  REQUIRE(ui.wait_for("sotto exited 0"));
}
