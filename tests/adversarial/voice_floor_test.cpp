// Floor control under a member who lies (doc/guide.md, Text, doc/guide.md, Push-to-talk voice):
// overlapping VoiceStarts on a half-duplex channel are settled by the smaller H(channel id ‖
// transmission id), never by the talker's started_at_us, identically on every member whatever order
// the starts arrive in; and a member who reuses another talker's transmission id cannot shadow that
// talker's transmission. Engines only, the test is their network; time is a FakeClock.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sotto/base/clock.h"
#include "sotto/crypto/primitives.h"
#include "src/core/voice_engine.h"
#include "tests/support/voice_side.h"

using namespace sotto;
using test::Listener;
using test::on_air;
using test::Talker;
using test::talker;
using test::voice_hooks;
using test::VoiceSide;

namespace {

constexpr uint64_t kHonestClockUs = 1'760'000'000'000'000;  // some day in 2025

Bytes floor_rank(const core::VoiceChannel& channel, const Bytes& transmission_id) {
  Bytes input = channel.id;
  input.insert(input.end(), transmission_id.begin(), transmission_id.end());
  return crypto::sha256(input);
}

// `n` fresh transmission ids, the one with the smallest floor rank first.
std::vector<Bytes> ids_by_rank(const core::VoiceChannel& channel, size_t n) {
  std::vector<Bytes> ids;
  for (size_t i = 0; i < n; ++i) ids.push_back(crypto::random_bytes(16));
  std::sort(ids.begin(), ids.end(), [&](const Bytes& a, const Bytes& b) {
    return floor_rank(channel, a) < floor_rank(channel, b);
  });
  return ids;
}

}  // namespace

TEST_CASE(
    "a VoiceStart claiming started_at_us = 0 does not win the floor; the overlapping start with "
    "the smaller H(channel id, transmission id) does, on every member, in either arrival order",
    "[adversarial][voice]") {
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  const auto ids = ids_by_rank(channel, 2);
  const Talker alice = talker("alice", ids[0], kHonestClockUs);
  const Talker mallory = talker("mallory", ids[1], 0);  // "I started at the epoch"
  const std::set<std::string> members = {"alice", "bob", "carol", "mallory"};

  Listener bob("bob", channel);
  bob.hear(channel, alice);
  bob.hear(channel, mallory);
  Listener carol("carol", channel);
  carol.hear(channel, mallory);
  carol.hear(channel, alice);

  for (Listener* l : {&bob, &carol}) {
    CHECK(on_air(l->engine, channel, members) == std::set<std::string>{"alice"});
    l->frames_from(channel, alice, 5);
    l->frames_from(channel, mallory, 5);
    CHECK(l->side.counter("voice_frames_received") == 5);
    CHECK(l->side.counter("voice_frames_dropped_floor") == 5);
    CHECK(l->engine.ptt_state().busy == std::vector<std::string>{"ops"});
  }
  // Carol had let mallory on air for a moment: she saw it dropped, not silently swapped.
  CHECK(carol.side.phases("mallory", to_hex(mallory.transmission_id)) ==
        std::vector<std::string>{"started", "dropped"});
  CHECK(bob.side.phases("mallory", to_hex(mallory.transmission_id)) ==
        std::vector<std::string>{"dropped"});
}

TEST_CASE(
    "our own transmission is judged by the same rule; a start with the larger hash does not "
    "interrupt it whatever its clock claims, one with the smaller hash does",
    "[adversarial][voice]") {
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  const auto ids = ids_by_rank(channel, 3);
  const Talker bob = talker("bob", ids[0], kHonestClockUs + 10'000'000);  // a clock ahead
  const Talker mallory = talker("mallory", ids[2], 0);
  test::Speaker alice("alice", channel, ids[1], {"bob", "mallory"});
  alice.run_ms(200);
  REQUIRE_FALSE(alice.done);

  alice.engine.on_voice_start(mallory.fingerprint, channel,
                              test::voice_start(channel, mallory.transmission_id, mallory.key, 0));
  alice.run_ms(200);
  CHECK_FALSE(alice.done);
  CHECK(alice.engine.ptt_state().on_air);
  CHECK(alice.side.phases("mallory", to_hex(mallory.transmission_id)) ==
        std::vector<std::string>{"dropped"});

  alice.engine.on_voice_start(
      bob.fingerprint, channel,
      test::voice_start(channel, bob.transmission_id, bob.key, bob.started_at_us));
  REQUIRE(alice.done);
  CHECK(alice.done->status().code() == StatusCode::kBusy);
  CHECK_FALSE(alice.engine.ptt_state().on_air);
  CHECK(on_air(alice.engine, channel, {"alice", "bob", "mallory"}) == std::set<std::string>{"bob"});
}

TEST_CASE(
    "three crossing starts; every member puts the same talker on air whatever order the starts "
    "arrive in, the one with the smallest hash, not the earliest clock",
    "[adversarial][voice]") {
  const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
  const auto ids = ids_by_rank(channel, 3);
  // The clocks run against the ranks: the smallest hash claims the latest start.
  std::vector<Talker> talkers;
  talkers.push_back(talker("alice", ids[0], kHonestClockUs + 2));
  talkers.push_back(talker("bob", ids[1], kHonestClockUs + 1));
  talkers.push_back(talker("carol", ids[2], kHonestClockUs));
  const std::set<std::string> members = {"alice", "bob", "carol", "dave"};
  std::vector<size_t> order = {0, 1, 2};
  int permutations = 0;
  do {
    Listener dave("dave", channel);
    for (size_t i : order) dave.hear(channel, talkers[i]);
    INFO("arrival order " << order[0] << order[1] << order[2]);
    CHECK(on_air(dave.engine, channel, members) == std::set<std::string>{"alice"});
    for (const auto& t : talkers) dave.frames_from(channel, t, 3);
    CHECK(dave.side.counter("voice_frames_received") == 3);
    ++permutations;
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(permutations == 6);
}

TEST_CASE(
    "a member who reuses another talker's transmission id does not shadow that talker; each "
    "talker's frames reach its own reception, and members agree on the floor either way",
    "[adversarial][voice]") {
  const Bytes id = crypto::random_bytes(16);
  const Talker alice = talker("alice", id, kHonestClockUs);
  const Talker mallory = talker("mallory", id, kHonestClockUs);  // copied from alice's start
  const std::set<std::string> members = {"alice", "bob", "carol", "mallory"};

  SECTION("free channel, both are heard") {
    const core::VoiceChannel channel{crypto::random_bytes(16), "ops", true};
    Listener bob("bob", channel);
    bob.hear(channel, mallory);  // first, to claim the id
    bob.hear(channel, alice);
    bob.frames_from(channel, alice, 6);
    bob.frames_from(channel, mallory, 4);
    CHECK(bob.side.counter("voice_frames_received") == 10);
    CHECK(bob.side.counter("voice_frames_dropped_wrong_channel") == 0);
    CHECK(on_air(bob.engine, channel, members) == std::set<std::string>{"alice", "mallory"});
  }
  SECTION("half-duplex channel, one of them, the same on every member") {
    const core::VoiceChannel channel{crypto::random_bytes(16), "ops", false};
    Listener bob("bob", channel);
    bob.hear(channel, mallory);
    bob.hear(channel, alice);
    Listener carol("carol", channel);
    carol.hear(channel, alice);
    carol.hear(channel, mallory);
    const auto at_bob = on_air(bob.engine, channel, members);
    CHECK(at_bob.size() == 1);
    CHECK(on_air(carol.engine, channel, members) == at_bob);
  }
}
