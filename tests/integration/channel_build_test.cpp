// Channels built in one roster change on real nodes (issue 23, item 4): a node per member on
// 127.0.0.1, all in one process. A build of N members costs no sender key: a member hands its
// key to each other member when it first speaks. A join makes nobody rotate: the newcomer hears
// the next transmission.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/channel_lab.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::ChannelLab;
using test::wait_until;

namespace {

size_t voice_clips(const std::vector<core::MessageInfo>& history, const std::string& id) {
  return static_cast<size_t>(std::count_if(history.begin(), history.end(), [&](const auto& m) {
    return m.kind == core::MessageKind::kVoice && m.id == id;
  }));
}

// One short real utterance (alsa-utils' Front_Center), written into `out`.
std::string short_recording(const test::TempDir& out) {
  const std::string recording = out / "short.wav";
  test::write_speech(recording, test::alsa_speech({"Front_Center"}));
  return recording;
}

}  // namespace

TEST_CASE(
    "real nodes; a channel of 12 built with one invite is one epoch, and a member hands its "
    "sender key once to each other member when it first speaks",
    "[channels][integration][scale]") {
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) names.push_back("n" + std::to_string(10 + i));
  const std::string admin = names.front();
  const std::vector<std::string> others(names.begin() + 1, names.end());
  ChannelLab lab(names);
  REQUIRE(wait_until([&] { return lab.all_online(); }, 20s));
  lab.add_verified(admin, others);
  for (const auto& name : others) lab.add_verified(name, {admin});  // no invitation to accept

  const auto started = std::chrono::steady_clock::now();
  auto created = lab[admin].node().create_channel("ops", true, false, others);
  INFO(created.status().message());
  REQUIRE(created.is_ok());
  CHECK(created.value().epoch == 1);
  CHECK(created.value().members.size() == names.size());
  // Built: every member holds the roster.
  REQUIRE(wait_until(
      [&] {
        return std::all_of(names.begin(), names.end(), [&](const std::string& name) {
          auto seen = test::channel_of(lab[name], "ops");
          return seen && seen->state == core::ChannelState::kMember &&
                 seen->members.size() == names.size();
        });
      },
      30s));
  const auto built_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
  REQUIRE(lab[names.back()].node().send_text("#ops", "to all twelve").is_ok());
  REQUIRE(wait_until(
      [&] {
        return std::all_of(names.begin(), names.end(), [&](const std::string& name) {
          return test::count_text(lab[name].history("#ops"), "to all twelve") == 1;
        });
      },
      15s));
  // Only the member who spoke handed out a key: one to each other member.
  uint64_t shared = 0;
  for (const auto& name : names) {
    INFO(name);
    CHECK(lab[name].counter("sender_keys_shared") == (name == names.back() ? names.size() - 1 : 0));
    CHECK(lab[name].counter("sender_keys_received") == (name == names.back() ? 0 : 1));
    shared += lab[name].counter("sender_keys_shared");
    CHECK(test::channel_of(lab[name], "ops")->epoch == 1);
  }
  CHECK(shared == names.size() - 1);
  WARN("a channel of " << names.size() << " on loopback: built in " << built_ms << " ms, " << shared
                       << " sender keys");
}

TEST_CASE(
    "real nodes; a member invited after a transmission hears the next one, and nobody's key "
    "rotated for it",
    "[channels][integration][voice]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir out;
  const std::string recording = short_recording(out);
  ChannelLab lab({"alice", "bob", "carol"});
  test::open_channel(lab, "alice", "ops", {"bob"}, false);
  auto before = lab["bob"].node().talk("ops", recording);
  INFO(before.status().message());
  REQUIRE(before.is_ok());
  REQUIRE(wait_until([&] { return voice_clips(lab["alice"].history("#ops"), before.value().id); },
                     10s));
  const uint64_t alice_keys = lab["alice"].counter("sender_keys_received");

  lab.add_verified("alice", {"carol"});
  REQUIRE(lab["alice"].node().invite_to_channel("ops", "carol").is_ok());
  lab.accept_invitation("carol", "alice", "ops");
  // Carol holds bob's key (from where his chain stood) before he talks again.
  REQUIRE(wait_until([&] { return lab["carol"].counter("sender_keys_received") == 2; }, 10s));
  const uint64_t frames_before = lab["carol"].counter("voice_frames_received");
  auto after = lab["bob"].node().talk("ops", recording);
  INFO(after.status().message());
  REQUIRE(after.is_ok());
  REQUIRE(
      wait_until([&] { return voice_clips(lab["carol"].history("#ops"), after.value().id); }, 10s));
  CHECK(lab["carol"].counter("voice_frames_received") > frames_before);
  CHECK(voice_clips(lab["carol"].history("#ops"), before.value().id) == 0);
  // Alice got no new key: bob did not rotate for the join, and carol has not spoken yet.
  CHECK(lab["alice"].counter("sender_keys_received") == alice_keys);
}

TEST_CASE(
    "real nodes; a member whose first act in a channel is a transmission is heard live by a "
    "member it has no session with, and both archive the clip",
    "[channels][integration][voice]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir out;
  const std::string recording = short_recording(out);
  ChannelLab lab({"alice", "bob", "carol"});
  REQUIRE(wait_until([&] { return lab.all_online(); }, 8s));
  lab.add_verified("alice", {"bob", "carol"});
  for (const char* member : {"bob", "carol"}) lab.add_verified(member, {"alice"});
  REQUIRE(lab["alice"].node().create_channel("ops", true, false, {"bob", "carol"}).is_ok());
  REQUIRE(wait_until(
      [&] {
        auto seen = test::channel_of(lab["carol"], "ops");
        auto at_bob = test::channel_of(lab["bob"], "ops");
        return seen && at_bob && seen->members.size() == 3 && at_bob->members.size() == 3;
      },
      10s));
  // Nobody has spoken: bob's key goes out with his transmission's start, to carol over a
  // session he starts then.
  REQUIRE(lab["bob"].counter("sender_keys_shared") == 0);
  auto talked = lab["bob"].node().talk("ops", recording);
  INFO(talked.status().message());
  REQUIRE(talked.is_ok());
  for (const char* listener : {"alice", "carol"}) {
    INFO(listener);
    REQUIRE(wait_until(
        [&] { return voice_clips(lab[listener].history("#ops"), talked.value().id) == 1; }, 10s));
    // Heard live: its VoiceStart opened a reception, which took the frames.
    CHECK(lab[listener].counter("voice_starts_received") == 1);
    CHECK(lab[listener].counter("voice_frames_received") > 0);
  }
  CHECK(lab["bob"].counter("sender_keys_shared") == 2);
}
