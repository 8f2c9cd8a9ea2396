// Live voice as datagrams (doc/protocol.md, Voice datagrams; doc/security.md): a transmission
// reaches its listeners loop to loop, each datagram sealed for its one receiver. What an insider
// sends to a node's voice port instead: anything but a voice frame, a replay, a datagram from a
// key whose owner never sent a Hello, one under another peer's tag, garbage. All dropped and
// counted, and the node goes on serving its peers.
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <string>

#include "sotto/core/node.h"
#include "sotto/crypto/pair_seal.h"
#include "sotto/crypto/primitives.h"
#include "sotto/net/udp_socket.h"
#include "tests/support/adversary.h"
#include "tests/support/channel_lab.h"
#include "tests/support/free_port.h"
#include "tests/support/profile_node.h"
#include "tests/support/skip.h"
#include "tests/support/speech.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using test::ProfileNode;
using test::wait_until;

namespace {

std::optional<core::PeerInfo> peer_of(ProfileNode& node, const std::string& fingerprint) {
  for (const auto& peer : node.node().peers()) {
    if (peer.fingerprint == fingerprint) return peer;
  }
  return std::nullopt;
}

bool online_pair(ProfileNode& a, ProfileNode& b) {
  return a.sees_online(b.fingerprint()) && b.sees_online(a.fingerprint());
}

// What `insider` seals for `node` (its transport key `node_key`) as its datagram `number`.
Bytes sealed_for(test::HostileInsider& insider, const Bytes& node_key, ByteView frame,
                 uint64_t number) {
  auto seal = crypto::PairSeal::to(insider.account().transport_secret(),
                                   insider.account().transport_public(), node_key,
                                   test::kInsiderDatagramSession);
  REQUIRE(seal.is_ok());
  return seal.value().seal(number, frame);
}

}  // namespace

TEST_CASE("a transmission reaches its listener as datagrams, and the clip is whole and signed",
          "[adversarial][voice][datagram]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir out;
  const std::string recording = out / "speech.wav";
  test::write_speech(recording, test::alsa_speech({"Front_Center", "Front_Left"}));
  test::ChannelLab lab({"alice", "bob"});
  test::open_channel(lab, "alice", "ops", {"bob"}, false);
  REQUIRE(lab["alice"].node().voice_port() != 0);
  const uint64_t links_before = lab["bob"].counter("transport_frames_in");
  const uint64_t heartbeats_before = lab["bob"].counter("heartbeats_received");

  auto sent = lab["alice"].node().talk("ops", recording);
  INFO(sent.status().message());
  REQUIRE(sent.is_ok());
  const uint64_t frames = lab["alice"].counter("voice_frames_sent");
  REQUIRE(frames >= 50);
  REQUIRE(wait_until([&] { return lab["bob"].counter("voice_frames_received") == frames; }, 5s));
  CHECK(lab["alice"].counter("datagrams_out") == frames);
  CHECK(lab["bob"].counter("datagrams_in") == frames);
  CHECK(lab["bob"].counter("datagrams_refused") == 0);
  // The link carried VoiceStart, VoiceEnd and the like, not a frame each.
  CHECK(lab["bob"].counter("transport_frames_in") - links_before < frames / 4);
  // Alice's heartbeats wait for the middle of a frame period while she talks, but they go.
  CHECK(lab["bob"].counter("heartbeats_received") - heartbeats_before >= frames * 20 / 1000 - 1);
  auto played = lab["bob"].node().play(sent.value().id, out / "bob.wav");
  REQUIRE(played.is_ok());
  CHECK(played.value().signature_valid);
}

TEST_CASE(
    "a node given a voice port takes live voice on it; a port in use, or the listen port, stops "
    "it with one line naming the port",
    "[adversarial][voice][datagram]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::TempDir out;
  const std::string recording = out / "speech.wav";
  test::write_speech(recording, test::alsa_speech({"Front_Center"}));
  const uint16_t chosen = test::free_udp_port();
  test::ChannelLab lab({"alice", "bob"}, [&](const std::string& name, core::NodeOptions& options) {
    if (name == "bob") options.voice_port = chosen;
  });
  test::open_channel(lab, "alice", "ops", {"bob"}, false);
  REQUIRE(lab["bob"].node().voice_port() == chosen);
  auto sent = lab["alice"].node().talk("ops", recording);
  INFO(sent.status().message());
  REQUIRE(sent.is_ok());
  const uint64_t frames = lab["alice"].counter("voice_frames_sent");
  REQUIRE(frames > 0);
  REQUIRE(wait_until([&] { return lab["bob"].counter("datagrams_in") == frames; }, 5s));

  // Taken by another socket: no other port instead, and the error names it.
  auto holder = net::UdpSocket::bind("127.0.0.1", 0);
  REQUIRE(holder.is_ok());
  const std::string taken = std::to_string(holder.value().local_port().value());
  ProfileNode carol("carol");
  auto carol_options = [&](const std::string& listen) {
    core::NodeOptions options = test::loopback_options();
    options.voice_port = holder.value().local_port().value();
    if (!listen.empty()) options.listen = listen;
    return options;
  };
  CHECK_THROWS_WITH(carol.start(carol_options("")),
                    Catch::Contains("the voice port: binding udp://127.0.0.1:" + taken) &&
                        Catch::Contains("in use"));
  // The listen port's UDP takes unicast beacons.
  CHECK_THROWS_WITH(carol.start(carol_options("tcp://127.0.0.1:" + taken)),
                    Catch::Contains("--voice-port " + taken + " is the listen port"));
}

TEST_CASE(
    "an insider's datagrams to a node's voice port: not a voice frame, a replay, a key that sent "
    "no Hello, another pair's tag, garbage; all dropped and counted, and the node still serves "
    "its peers",
    "[adversarial][voice][datagram]") {
  ProfileNode node("target");
  ProfileNode viewer("viewer");
  node.start();
  viewer.start(test::loopback_with_peers({node.endpoint()}));
  REQUIRE(wait_until([&] { return online_pair(node, viewer); }, 5s));
  const Bytes node_key = peer_of(viewer, node.fingerprint())->transport_key;
  const uint16_t voice_port = node.node().voice_port();
  REQUIRE(voice_port != 0);

  test::HostileInsider insider("insider");
  insider.announce_to(node.port());
  insider.connect(node.endpoint(), node_key);  // its Hello proves its key
  REQUIRE(wait_until([&] { return node.sees_online(insider.fingerprint()); }, 3s));

  // Well sealed, but not voice: a Heartbeat, and a Hello, which must come over its connection.
  insider.send_datagram(voice_port, sealed_for(insider, node_key, test::heartbeat_frame(1), 1));
  insider.send_datagram(
      voice_port, sealed_for(insider, node_key, test::hello_frame(insider.account(), node_key), 2));
  REQUIRE(wait_until([&] { return node.counter("datagram_dropped_not_voice") == 2; }, 3s));
  // Well sealed, not a frame at all.
  insider.send_datagram(voice_port, sealed_for(insider, node_key, crypto::random_bytes(100), 3));
  REQUIRE(wait_until([&] { return node.counter("frame_dropped_size") == 1; }, 3s));
  // The same datagram again, as anyone who saw it pass could send it.
  const Bytes seen = sealed_for(insider, node_key, test::heartbeat_frame(4), 4);
  insider.send_datagram(voice_port, seen);
  insider.send_datagram(voice_port, seen);
  REQUIRE(wait_until([&] { return node.counter("datagrams_replayed") == 1; }, 3s));
  CHECK(node.counter("datagram_dropped_not_voice") == 3);

  // A key the node admitted (its beacon) whose holder never sent a Hello: no session of its is
  // known, so nothing of it is opened.
  const uint64_t refused_before = node.counter("datagrams_refused");
  test::HostileInsider stranger("stranger");
  stranger.announce_to(node.port());
  REQUIRE(wait_until([&] { return peer_of(node, stranger.fingerprint()).has_value(); }, 3s));
  stranger.send_datagram(voice_port, sealed_for(stranger, node_key, test::heartbeat_frame(5), 1));
  // The stranger's datagram under the insider's tag, and plain garbage.
  const Bytes insider_tag = *crypto::PairSeal::tag_of(seen);
  Bytes forged = sealed_for(stranger, node_key, test::heartbeat_frame(6), 2);
  std::copy(insider_tag.begin(), insider_tag.end(), forged.begin() + 1);
  stranger.send_datagram(voice_port, forged);
  stranger.send_datagram(voice_port, crypto::random_bytes(400));
  stranger.send_datagram(voice_port, Bytes(1500, 1));
  REQUIRE(wait_until([&] { return node.counter("datagrams_refused") == refused_before + 4; }, 3s));

  CHECK(node.counter("datagrams_in") == 4);  // the insider's, each once
  CHECK(node.counter("datagram_dropped_unproved_key") == 0);
  CHECK(node.counter("voice_frames_received") == 0);
  CHECK(online_pair(node, viewer));
  REQUIRE(viewer.node().add_contact(node.fingerprint(), "target").is_ok());
  auto text = viewer.node().send_text("target", "still here");
  REQUIRE(text.is_ok());
  REQUIRE(wait_until(
      [&] {
        for (const auto& m : node.history())
          if (m.body == "still here") return true;
        return false;
      },
      5s));
}
