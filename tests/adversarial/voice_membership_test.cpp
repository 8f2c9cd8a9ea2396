// Voice and the roster (doc/guide.md, Channels, doc/guide.md, Push-to-talk voice): only members
// take part in a transmission, and the roster of the moment decides. Frames that overtake their
// VoiceStart wait in a few slots: a stranger gets none of them and a member only its share, so
// neither can crowd out the frames of a member who really talks. A roster change ends our
// transmission if it removed someone who could hear it, and cuts off whoever it removed at once;
// the clip goes only to those who were members at its start and still are. Engines with the test as
// their network first (FakeClock), then real nodes on 127.0.0.1 with recorded speech.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "sotto/core/node.h"
#include "sotto/crypto/primitives.h"
#include "src/core/voice_engine.h"
#include "tests/support/channel_lab.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/voice_side.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::ChannelLab;
using test::Listener;
using test::on_air;
using test::ProfileNode;
using test::talker;
using test::wait_until;

TEST_CASE(
    "early frames; a stranger's flood does not evict a member's frames that overtook its "
    "VoiceStart, and every frame it sent is counted as dropped",
    "[adversarial][voice]") {
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  Listener bob("bob", channel);
  bob.side.members = {"alice", "bob"};
  const auto alice = talker("alice", crypto::random_bytes(16));
  // Eve got through the transport handshake but is on no roster; she knows the channel id.
  for (int i = 0; i < 100; ++i)
    bob.frames_from(channel, talker("eve", crypto::random_bytes(16)), 2);
  bob.frames_from(channel, alice, 8);
  bob.hear(channel, alice);
  CHECK(bob.side.counter("voice_frames_received") == 8);
  CHECK(bob.side.counter("voice_frames_dropped_not_member") == 200);
}

TEST_CASE(
    "early frames; one member cannot take every slot, frames beyond its share are dropped and "
    "counted, and another member's early frames still get in",
    "[adversarial][voice]") {
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  Listener bob("bob", channel);
  bob.side.members = {"alice", "bob", "mallory"};
  const auto alice = talker("alice", crypto::random_bytes(16));
  const auto mallory = talker("mallory", crypto::random_bytes(16));
  // Frames of a transmission whose VoiceStart never comes.
  bob.frames_from(channel, mallory, 200);
  bob.frames_from(channel, alice, 8);
  bob.hear(channel, alice);
  CHECK(bob.side.counter("voice_frames_received") == 8);
  const uint64_t dropped = bob.side.counter("voice_frames_dropped_early_talker");
  CHECK(dropped >= 100);
  // What mallory got in expires unplayed, and is counted then.
  bob.clock.advance_ms(5'000);
  bob.engine.tick();
  CHECK(dropped + bob.side.counter("voice_frames_dropped_unknown") == 200);
}

TEST_CASE(
    "our transmission on air when a member is removed ends at once, archived as a normal end, "
    "and no further frame goes out; an invite alone does not cut it",
    "[adversarial][voice]") {
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  test::Speaker alice("alice", channel, crypto::random_bytes(16), {"bob", "carol"});
  alice.run_ms(400);
  alice.engine.on_roster(channel.id, {"alice", "bob", "carol", "dave"}, true);
  alice.run_ms(400);
  REQUIRE_FALSE(alice.done);
  CHECK(alice.frames_sent_to("carol") == 40);

  alice.engine.on_roster(channel.id, {"alice", "bob", "dave"}, true);
  const auto frames = alice.side.sent.size();
  alice.run_ms(1000);
  CHECK(alice.side.sent.size() == frames);
  REQUIRE(alice.done);
  CHECK(alice.done->is_ok());
  CHECK_FALSE(alice.engine.on_air());
  REQUIRE(alice.side.closed);
  CHECK(alice.side.closed->packets.size() == 40);  // what was said until then, archived
}

TEST_CASE(
    "removed ourselves while on air; our transmission is cut off unarchived and every "
    "transmission we hear on that channel is dropped, other channels untouched",
    "[adversarial][voice]") {
  const core::VoiceChannel ops{crypto::random_bytes(16), "ops", true};
  const core::VoiceChannel net{crypto::random_bytes(16), "net", true};
  test::Speaker alice("alice", ops, crypto::random_bytes(16), {"bob", "carol"});
  const std::set<std::string> members = {"alice", "bob", "carol"};
  const auto bob = talker("bob", crypto::random_bytes(16));
  const auto carol = talker("carol", crypto::random_bytes(16));
  alice.engine.on_voice_start(bob.fingerprint, ops,
                              test::voice_start(ops, bob.transmission_id, bob.key));
  alice.engine.on_voice_start(carol.fingerprint, net,
                              test::voice_start(net, carol.transmission_id, carol.key));
  CHECK(on_air(alice.engine, ops, members) == std::set<std::string>{"alice", "bob"});

  alice.engine.on_roster(ops.id, {"bob", "carol"}, false);
  REQUIRE(alice.done);
  CHECK_FALSE(alice.done->is_ok());
  CHECK_FALSE(alice.side.closed);
  CHECK(on_air(alice.engine, ops, members).empty());
  CHECK(on_air(alice.engine, net, members) == std::set<std::string>{"carol"});
  CHECK(alice.side.phases("bob", to_hex(bob.transmission_id)) ==
        std::vector<std::string>{"started", "dropped"});
}

TEST_CASE(
    "a talker removed from the roster is cut off at once; its reception is dropped, its later "
    "frames are not played and its VoiceEnd yields no clip",
    "[adversarial][voice]") {
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  Listener bob("bob", channel);
  bob.side.members = {"alice", "bob", "carol"};
  const auto carol = talker("carol", crypto::random_bytes(16));
  bob.hear(channel, carol);
  bob.frames_from(channel, carol, 5);
  CHECK(bob.side.counter("voice_frames_received") == 5);
  CHECK(bob.engine.on_air());

  bob.side.members = {"alice", "bob"};
  bob.engine.on_roster(channel.id, {"alice", "bob"}, true);
  CHECK_FALSE(bob.engine.on_air());
  CHECK(bob.engine.ptt_state().busy.empty());  // the floor is free again
  bob.frames_from(channel, carol, 5, 5);
  CHECK(bob.side.counter("voice_frames_received") == 5);
  CHECK(bob.side.counter("voice_frames_dropped_not_member") == 5);
  wire::VoiceEnd end;
  end.set_transmission_id(as_chars(carol.transmission_id).data(), carol.transmission_id.size());
  end.set_channel_id(as_chars(channel.id).data(), channel.id.size());
  end.set_frames(5);
  CHECK_FALSE(bob.engine.on_voice_end("carol", end));
  CHECK(bob.side.phases("carol", to_hex(carol.transmission_id)) ==
        std::vector<std::string>{"started", "dropped"});
}

namespace {

size_t clips_in(const std::vector<core::MessageInfo>& history, const std::string& id) {
  return static_cast<size_t>(std::count_if(history.begin(), history.end(), [&](const auto& m) {
    return m.kind == core::MessageKind::kVoice && m.id == id;
  }));
}

bool is_on_roster(ProfileNode& viewer, const std::string& fingerprint) {
  auto channel = test::channel_of(viewer, "ops");
  return channel && test::member_fingerprints(*channel).contains(fingerprint);
}

}  // namespace

TEST_CASE(
    "real nodes; a member removed mid-transmission gets no frame more, the talker's clip ends "
    "there and goes to those who stay, and a member invited meanwhile never gets it",
    "[adversarial][voice][integration]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir out;
  const std::string recording = out / "long.wav";
  const auto speech = test::alsa_speech(
      {"Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right"});
  test::write_speech(recording, speech);
  const int64_t recording_ms = static_cast<int64_t>(speech.size()) / 48;
  ChannelLab lab({"alice", "bob", "carol", "dave"});
  test::open_channel(lab, "alice", "ops", {"bob", "carol"}, false);
  lab.add_verified("alice", {"dave"});

  auto talking =
      std::async(std::launch::async, [&] { return lab["alice"].node().talk("ops", recording); });
  REQUIRE(wait_until([&] { return lab["carol"].counter("voice_frames_received") >= 10; }, 5s));
  REQUIRE(lab["alice"].node().invite_to_channel("ops", "dave").is_ok());
  lab.accept_invitation("dave", "alice", "ops");  // a member meanwhile, not just invited
  REQUIRE(lab["alice"].node().remove_from_channel("ops", "carol").is_ok());
  REQUIRE(wait_until([&] { return !is_on_roster(lab["carol"], lab["carol"].fingerprint()); }, 5s));
  const uint64_t heard_by_carol = lab["carol"].counter("voice_frames_received");

  auto sent = talking.get();
  INFO(sent.status().message());
  REQUIRE(sent.is_ok());
  const std::string id = sent.value().id;
  REQUIRE(wait_until([&] { return clips_in(lab["bob"].history("#ops"), id) == 1; }, 5s));
  auto played = lab["bob"].node().play(id, out / "bob.wav");
  REQUIRE(played.is_ok());
  CHECK(played.value().signature_valid);
  CHECK(played.value().duration_ms < recording_ms / 2);  // ended at the removal, not the end
  // A text after the clip reaches dave: the clip, had it been queued for him, came before it.
  REQUIRE(lab["alice"].node().send_text("#ops", "after the clip").is_ok());
  REQUIRE(wait_until(
      [&] { return test::count_text(lab["dave"].history("#ops"), "after the clip") == 1; }, 10s));
  CHECK(clips_in(lab["dave"].history("#ops"), id) == 0);
  CHECK(clips_in(lab["carol"].history("#ops"), id) == 0);
  CHECK(lab["carol"].counter("voice_frames_received") == heard_by_carol);
}

TEST_CASE(
    "real nodes; a talker removed mid-transmission is cut off on every member as the roster "
    "arrives, and its own node ends the transmission as refused",
    "[adversarial][voice][integration]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir out;
  const std::string recording = out / "long.wav";
  test::write_speech(recording, test::alsa_speech({"Front_Center", "Front_Left", "Front_Right",
                                                   "Rear_Center", "Rear_Left", "Rear_Right"}));
  ChannelLab lab({"alice", "bob", "carol"});
  test::open_channel(lab, "alice", "ops", {"bob", "carol"}, false);
  const std::string carol = lab["carol"].fingerprint();

  auto talking =
      std::async(std::launch::async, [&] { return lab["carol"].node().talk("ops", recording); });
  REQUIRE(wait_until([&] { return lab["bob"].counter("voice_frames_received") >= 10; }, 5s));
  REQUIRE(lab["alice"].node().remove_from_channel("ops", "carol").is_ok());
  REQUIRE(wait_until([&] { return !is_on_roster(lab["bob"], carol); }, 5s));
  const uint64_t heard_by_bob = lab["bob"].counter("voice_frames_received");
  auto at_bob = test::channel_of(lab["bob"], "ops");
  REQUIRE(at_bob);
  CHECK(std::none_of(at_bob->members.begin(), at_bob->members.end(),
                     [](const auto& m) { return m.on_air; }));

  auto sent = talking.get();
  CHECK(sent.status().code() == StatusCode::kPermissionDenied);
  CHECK(lab["bob"].counter("voice_frames_received") == heard_by_bob);
  for (const char* name : {"alice", "bob"}) {
    auto history = lab[name].history("#ops");
    CHECK(std::none_of(history.begin(), history.end(),
                       [&](const auto& m) { return m.kind == core::MessageKind::kVoice; }));
  }
}
