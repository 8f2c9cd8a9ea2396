// The App against real nodes on 127.0.0.1, without a terminal: keys in, node calls made, events
// pumped, and the Canvas read back.
#include "tui/app.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>

#include "sotto/voice/wav.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_node.h"
#include "tests/support/tui_driver.h"
#include "tests/support/wait.h"
#include "tui/node_backend.h"

using namespace sotto;
using namespace sotto::tui;
using sotto::test::screen;
using sotto::test::type;
using namespace std::chrono_literals;

namespace {

// Feeds the node's events to the app until the screen shows `needle` (or 10 s pass).
bool shows(App& app, core::EventQueue& events, const std::string& needle) {
  return test::wait_until(
      [&] {
        while (auto e = events.pop()) app.on_event(*e);
        return screen(app).find(needle) != std::string::npos;
      },
      10s);
}

}  // namespace

TEST_CASE("the App adds, verifies and writes to a peer, and shows its replies", "[tui][app]") {
  test::TestNode alice("alice");
  core::NodeOptions options = test::loopback_options();
  options.peers.push_back(core::PeerSpec::parse(alice.pinned_endpoint()).value());
  test::TestNode bob("bob", std::move(options));
  REQUIRE(test::wait_until([&] { return bob.sees_online(alice); }, 10s));

  auto events = bob.node().subscribe();
  NodeBackend backend(bob.node());
  App app(backend, bob.profile_dir(), "bob", bob.fingerprint());
  app.load();
  // Nearby and nameless (Alice names herself only to contacts and the nodes she dialled).
  CHECK(shows(app, *events, "● ? " + alice.fingerprint().substr(0, 8)));

  type(app, "/add alice\n");
  CHECK(screen(app).find("● alice !") != std::string::npos);
  type(app, "/verify alice\n");
  CHECK(screen(app).find("safety number with alice") != std::string::npos);
  type(app, "y");
  CHECK(screen(app).find("● alice ✔") != std::string::npos);

  type(app, "hello nobody\n");  // home: nothing to send to
  CHECK(screen(app).find("open a conversation first") != std::string::npos);
  type(app, "/open alice\nhéllo alice\n");
  CHECK(test::wait_until(
      [&] {
        auto history = alice.node().history(bob.fingerprint(), 10);
        return history.is_ok() && !history.value().empty() &&
               history.value().back().body == "héllo alice";
      },
      10s));
  CHECK(shows(app, *events, "me: héllo alice ✓✓"));
  REQUIRE(alice.node().send_text(bob.fingerprint(), "hi bob").is_ok());
  CHECK(shows(app, *events, "alice: hi bob"));

  type(app, "/frobnicate\n");
  CHECK(screen(app).find("unknown command /frobnicate") != std::string::npos);
  type(app, "/search alice\n");
  CHECK(screen(app).find("search: alice") != std::string::npos);
  CHECK(screen(app).find("[alice]") != std::string::npos);
  app.on_key(Key::special(Key::Code::kEscape));
  type(app, "/ptt\n");  // not in a channel
  CHECK(screen(app).find("push-to-talk works in a channel") != std::string::npos);

  app.on_key(Key::function(1));
  CHECK(screen(app).find("keys and commands") != std::string::npos);
  app.on_key(Key::special(Key::Code::kEscape));
  CHECK(screen(app).find("keys and commands") == std::string::npos);

  type(app, "/channel create ops\n");
  CHECK(screen(app).find("#ops · 1 members") != std::string::npos);
  type(app, "/channel invite ops alice\n");
  CHECK(screen(app, 200, 50).find("all verified") != std::string::npos);
  type(app, "/roster\n");
  CHECK(screen(app).find("#ops roster") != std::string::npos);
  app.on_key(Key::special(Key::Code::kEscape));

  // Ctrl-N walks the conversations in the sidebar's order: home, #ops, alice, and round.
  app.on_key(Key::ctrl('n'));
  CHECK(screen(app).find("alice  ● online") != std::string::npos);
  app.on_key(Key::ctrl('n'));
  CHECK(screen(app).find("Welcome, bob.") != std::string::npos);
  app.on_key(Key::ctrl('p'));
  CHECK(screen(app).find("alice  ● online") != std::string::npos);

  type(app, "/quit\n");
  CHECK(app.quit());
}

TEST_CASE("/play plays a clip on the node's output with its progress, and Esc stops it",
          "[tui][app][voice]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir out;
  const std::string output = out / "output.wav";
  core::NodeOptions options = test::loopback_options();
  options.playback_out = output;  // the WAV backend stands in for the sound device
  test::TestNode bob("bob", std::move(options));
  // Three words, about 4 s: long enough to be stopped halfway however busy the machine is.
  const std::string speech = out / "speech.wav";
  test::write_speech(speech, test::alsa_speech({"Front_Center", "Front_Left", "Front_Right"}));
  REQUIRE(bob.node().create_channel("ops").is_ok());
  auto sent = bob.node().talk("#ops", speech);
  INFO(sent.status().message());
  REQUIRE(sent.is_ok());
  const std::string id = sent.value().id;
  REQUIRE(bob.node().play(id, out / "reference.wav").is_ok());
  auto reference = voice::read_wav(out / "reference.wav");
  REQUIRE(reference.is_ok());

  NodeBackend backend(bob.node());
  App app(backend, bob.profile_dir(), "bob", bob.fingerprint());
  app.load();
  type(app, "/play " + id.substr(0, 8) + "\n");
  CHECK(screen(app).find("▶ me 0.0 / 4.") != std::string::npos);
  CHECK(app.tick_interval_ms() == 100);
  // Progress as the UI's tick polls it, until a second has played.
  REQUIRE(test::wait_until(
      [&] {
        app.tick();
        return app.state().playback.elapsed_ms >= 1000;
      },
      10s));
  CHECK(screen(app).find("▶ me 1.") != std::string::npos);
  CHECK(screen(app).find("Esc stops") != std::string::npos);

  app.on_key(Key::special(Key::Code::kEscape));
  CHECK(screen(app).find("Esc stops") == std::string::npos);
  REQUIRE(test::wait_until([&] { return !backend.playback_state().playing; }, 5s));
  const core::PlaybackState stopped = backend.playback_state();
  CHECK(stopped.stopped);
  CHECK(stopped.error.empty());
  CHECK(stopped.elapsed_ms < stopped.total_ms);

  // What reached the output: the clip's own decode, from its start to where Esc cut it.
  auto played = voice::read_wav(output);
  REQUIRE(played.is_ok());
  const std::vector<int16_t>& samples = played.value().samples;
  CHECK(samples.size() == static_cast<size_t>(stopped.elapsed_ms) * 48);
  REQUIRE(samples.size() < reference.value().samples.size());
  CHECK(std::equal(samples.begin(), samples.end(), reference.value().samples.begin()));
}
