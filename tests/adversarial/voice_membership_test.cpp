// Voice and the roster (DESIGN §7, §8): only members take part in a transmission, and the
// roster of the moment decides. Frames that overtake their VoiceStart wait in a few slots: a
// stranger gets none of them and a member only its share, so neither can crowd out the frames of
// a member who really talks.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sotto/crypto/primitives.h"
#include "src/core/voice_engine.h"
#include "tests/support/voice_side.h"

using namespace sotto;
using test::Listener;
using test::talker;

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
