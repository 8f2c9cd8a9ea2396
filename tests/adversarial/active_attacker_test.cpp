// Issue 9, scenario 2: an active attacker on the LAN (promise 2, 3 and 6). It replays
// what it recorded, at the byte level into fresh connections and at the message level through a
// node that sends the very same stored frames again; it answers for a peer with an identity of
// its own; it speaks older or weaker ZeroMQ to get around CURVE.
//
// Covered elsewhere, not repeated here: forged beacons (node_test "a forged unicast beacon is
// ignored and counted"), replayed and re-signed broadcast beacons in namespaces
// (discovery_netns_test), a NULL-mechanism client and an unvouched CURVE key (node_test), a
// pinned key that does not match (node_test), wrong protocol versions inside CURVE (node_test
// "garbage, truncated, wrong-version and 10 MiB frames").
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>

#include "sotto/crypto/pair_seal.h"
#include "sotto/net/udp_socket.h"
#include "tests/support/adversary.h"
#include "tests/support/channel_lab.h"
#include "tests/support/conversation.h"
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

// What an archive holds (every conversation, channels included), in a form two moments can be
// compared by: kind, body and conversation, in order.
std::vector<std::string> archive_of(ProfileNode& node) {
  std::vector<std::string> out;
  for (const auto& m : node.history())
    out.push_back(m.id + " " + std::string(core::to_string(m.kind)) + " " + m.conversation + " " +
                  m.body);
  return out;
}

// Copies the regular files under `from` to `to` (the control socket and the like are not data).
void copy_profile(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  fs::remove_all(to);
  fs::create_directories(to);
  fs::permissions(to, fs::perms::owner_all);  // a profile must be private to its owner
  for (const auto& entry : fs::recursive_directory_iterator(from)) {
    const fs::path target = fs::path(to) / fs::relative(entry.path(), from);
    if (entry.is_directory()) {
      fs::create_directories(target);
    } else if (entry.is_regular_file()) {
      fs::copy_file(entry.path(), target, fs::copy_options::overwrite_existing);
    }
  }
}

bool online_pair(ProfileNode& a, ProfileNode& b) {
  return a.sees_online(b.fingerprint()) && b.sees_online(a.fingerprint());
}

// Every message `node` sent is delivered: its outbox is empty.
bool all_delivered(ProfileNode& node) {
  auto history = node.history();  // every conversation, channels included
  return std::all_of(history.begin(), history.end(), [](const core::MessageInfo& m) {
    return !m.outgoing || m.kind == core::MessageKind::kSystem ||
           m.state == core::MessageState::kDelivered;
  });
}

// Every message of `node`, one per line: for failure messages.
std::string describe(ProfileNode& node) {
  std::string text = "at " + node.fingerprint().substr(0, 8) + ":\n";
  auto history = node.history();  // every conversation, channels included
  for (const auto& m : history) {
    text += "  " + m.id.substr(0, 8) + " " + std::string(core::to_string(m.kind)) + " " +
            std::string(core::to_string(m.state)) + " " + m.conversation.substr(0, 8) + " " +
            m.body + "\n";
  }
  return text;
}

size_t count_id(const std::vector<core::MessageInfo>& history, const std::string& id) {
  return static_cast<size_t>(std::count_if(history.begin(), history.end(),
                                           [&](const core::MessageInfo& m) { return m.id == id; }));
}

}  // namespace

TEST_CASE(
    "recorded CURVE streams replayed into fresh connections die at the handshake, recorded voice "
    "datagrams replayed are refused, and no archive changes",
    "[adversarial][replay]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  test::OverheardConversation talk;
  ProfileNode& alice = talk.alice();
  ProfileNode& bob = talk.bob();
  // The client side of every connection: everything a node said to the other's ROUTER, from its
  // greeting through the pre-key message, the sender-key messages and the voice frames.
  std::vector<Bytes> client_streams;
  for (const Bytes& t : talk.relay().transcripts()) {
    auto greeting = test::parse_zmtp_greeting(t);
    if (greeting && !greeting->as_server) client_streams.push_back(t);
  }
  REQUIRE(client_streams.size() >= 2);
  const auto alice_before = archive_of(alice);
  const auto bob_before = archive_of(bob);
  const uint64_t failures_before =
      alice.counter("inbound_handshake_failures") + bob.counter("inbound_handshake_failures");
  auto admitted = [&] { return alice.counter("zap_admitted") + bob.counter("zap_admitted"); };
  const uint64_t admitted_before = admitted();

  // Each stream into each node (the attacker need not know which one it came from), at once.
  std::vector<test::RawTcp> replays;
  for (size_t i = 0; i < client_streams.size(); ++i) {
    for (uint16_t port : {alice.port(), bob.port()}) replays.emplace_back("127.0.0.1", port);
  }
  REQUIRE(test::wait_connected(replays, 3s) == replays.size());
  for (size_t i = 0; i < replays.size(); ++i) replays[i].send(client_streams[i / 2]);
  const auto sent = std::chrono::steady_clock::now();
  const auto closed = test::wait_closed(replays, sent, 8s);
  for (size_t i = 0; i < closed.size(); ++i) {
    INFO("replay " << i << " of " << client_streams[i / 2].size() << " bytes");
    REQUIRE(closed[i].has_value());
  }

  // A CurveZMQ server makes a fresh cookie key for every connection, so a recorded INITIATE
  // cannot be accepted again (and a stream made for the other node fails at its HELLO).
  REQUIRE(wait_until(
      [&] {
        return alice.counter("inbound_handshake_failures") +
                   bob.counter("inbound_handshake_failures") >=
               failures_before + replays.size();
      },
      3s));
  // The replays added no frame: a frame reaches a node only over a CURVE session its ZAP handler
  // admitted, and not one was admitted meanwhile (the live links' sessions stay as they were;
  // their heartbeats go on). Each replay failed at its handshake, once.
  CHECK(admitted() == admitted_before);
  CHECK(alice.counter("inbound_handshake_failures") + bob.counter("inbound_handshake_failures") ==
        failures_before + replays.size());
  CHECK(archive_of(alice) == alice_before);
  CHECK(archive_of(bob) == bob_before);
  CHECK(bob.counter("message_duplicates") == 0);
  CHECK(alice.counter("message_duplicates") == 0);

  // The voice frames went as datagrams (doc/protocol.md, Voice datagrams): each recorded one sent
  // again to both nodes. Bob took every number once already; Alice knows no tag of a datagram
  // made for Bob. Not one reaches a voice reception.
  std::vector<Bytes> datagrams;
  for (const Bytes& t : talk.relay().transcripts()) {
    if (!t.empty() && t[0] == crypto::PairSeal::kVersion) datagrams.push_back(t);
  }
  REQUIRE(datagrams.size() >= 50);
  const uint64_t bob_replayed = bob.counter("datagrams_replayed");
  const uint64_t alice_refused = alice.counter("datagrams_refused");
  const uint64_t bob_frames = bob.counter("voice_frames_received");
  auto attacker = net::UdpSocket::bind("127.0.0.1", 0);
  REQUIRE(attacker.is_ok());
  for (const Bytes& datagram : datagrams) {
    REQUIRE(attacker.value().send_to("127.0.0.1", bob.node().voice_port(), datagram).is_ok());
    REQUIRE(attacker.value().send_to("127.0.0.1", alice.node().voice_port(), datagram).is_ok());
  }
  REQUIRE(wait_until(
      [&] {
        return bob.counter("datagrams_replayed") == bob_replayed + datagrams.size() &&
               alice.counter("datagrams_refused") == alice_refused + datagrams.size();
      },
      5s));
  CHECK(bob.counter("voice_frames_received") == bob_frames);
  CHECK(archive_of(bob) == bob_before);

  // The real link did not suffer: a new text still goes through once.
  auto after = alice.node().send_text(talk.bob_name(), "after the replays");
  REQUIRE(after.is_ok());
  REQUIRE(wait_until([&] { return count_id(bob.history(), after.value().id) == 1; }, 5s));
}

TEST_CASE(
    "the very same stored pre-key, sender-key and voice-clip frames sent again by a restored "
    "copy of the sender are acknowledged, counted and archived once",
    "[adversarial][replay]") {
  SOTTO_SKIP_UNLESS(test::have_alsa_speech(), test::kNoAlsaSpeech);
  // Alice queues a 1:1 text (a PreKeySignalMessage: Bob never answered her), a channel text
  // (sender key) and a voice clip while Bob is away; a copy of her profile is taken with all
  // three still in her outbox. After delivery, the copy comes back to life and its outbox sends
  // the same ciphertexts again — a replay at the message level, by the only party that can
  // make one get through CURVE, with frames byte for byte as first sent (the channel ones only
  // if Bob's marks did not already acknowledge them).
  test::TempDir tmp;
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  alice.start();
  bob.start(test::loopback_with_peers({alice.endpoint()}));
  REQUIRE(wait_until([&] { return online_pair(alice, bob); }, 5s));
  REQUIRE(alice.node().add_contact("bob").is_ok());
  REQUIRE(alice.node().confirm_contact("bob").is_ok());
  REQUIRE(alice.node().create_channel("ops", true).is_ok());
  REQUIRE(alice.node().invite_to_channel("ops", "bob").is_ok());
  REQUIRE(wait_until([&] { return test::channel_of(bob, "ops").has_value(); }, 5s));
  REQUIRE(bob.node().confirm_contact(alice.fingerprint()).is_ok());  // then it is no invitation
  REQUIRE(bob.node().accept_channel("ops").is_ok());
  bob.stop();
  REQUIRE(wait_until([&] { return !alice.sees_online(bob.fingerprint()); }, 8s));

  auto direct = alice.node().send_text("bob", "a pre-key message, once");
  REQUIRE(direct.is_ok());
  auto group = alice.node().send_text("#ops", "a sender-key message, once");
  REQUIRE(group.is_ok());
  const std::string wav = tmp / "speech.wav";
  test::write_speech(wav, test::alsa_speech({"Front_Center"}));
  auto voice = alice.node().talk("#ops", wav);
  INFO(voice.status().message());
  REQUIRE(voice.is_ok());
  alice.stop();
  copy_profile(alice.profile_dir(), tmp / "snapshot");

  alice.start();
  bob.start(test::loopback_with_peers({alice.endpoint()}));
  const std::vector<std::string> ids = {direct.value().id, group.value().id, voice.value().id};
  auto bob_has_all = [&] {
    auto all = bob.history();  // every conversation, channels included
    return std::all_of(ids.begin(), ids.end(),
                       [&](const std::string& id) { return count_id(all, id) == 1; });
  };
  const bool delivered = wait_until(bob_has_all, 10s);
  INFO(describe(alice) << describe(bob));
  REQUIRE(delivered);
  REQUIRE(wait_until([&] { return all_delivered(alice); }, 10s));
  const auto bob_before = archive_of(bob);
  const uint64_t received = bob.counter("messages_received");
  const uint64_t group_received = bob.counter("group_messages_received");
  const uint64_t clips = bob.counter("voice_clips_archived");
  const uint64_t duplicates = bob.counter("message_duplicates");

  // The copy: same identity, same transport key, the three frames still queued for Bob.
  alice.stop();
  copy_profile(tmp / "snapshot", alice.profile_dir());
  alice.start(test::loopback_with_peers({bob.endpoint()}));
  // The 1:1 frame goes again and Bob acknowledges it from his archive; the channel text and the
  // clip need not: Bob's marks (doc/protocol.md, Relay) tell the copy he holds them, which
  // acknowledges them just the same. Either way the copy's outbox empties.
  REQUIRE(wait_until([&] { return bob.counter("message_duplicates") >= duplicates + 1; }, 10s));
  REQUIRE(wait_until([&] { return all_delivered(alice); }, 8s));
  CHECK(alice.counter("relay_acknowledged") == 2);
  CHECK(archive_of(bob) == bob_before);
  CHECK(bob.counter("messages_received") == received);
  CHECK(bob.counter("group_messages_received") == group_received);
  CHECK(bob.counter("voice_clips_archived") == clips);
  CHECK(bob_has_all());
}

TEST_CASE(
    "a man in the middle answering for Bob with an identity of its own: the safety numbers "
    "differ, the contact stays unverified and a strict channel refuses it",
    "[adversarial][mitm]") {
  // Mallory calls itself by Bob's name and sits at the address Alice was given for Bob. It
  // cannot sign a beacon with Bob's identity key, so it must show its own.
  ProfileNode mallory("bob");
  ProfileNode alice("alice");
  ProfileNode bob("bob");
  mallory.start();
  alice.start(test::loopback_with_peers({mallory.endpoint()}));
  REQUIRE(wait_until([&] { return online_pair(alice, mallory); }, 5s));
  auto added = alice.node().add_contact("bob");
  INFO(added.status().message());
  REQUIRE(added.is_ok());
  CHECK(added.value().fingerprint == mallory.fingerprint());
  CHECK(added.value().trust == core::Trust::kUnverified);
  // The impostor can talk to Alice, as anyone on the LAN can.
  REQUIRE(mallory.node().add_contact("alice").is_ok());
  REQUIRE(mallory.node().send_text("alice", "it's me, bob").is_ok());
  REQUIRE(wait_until(
      [&] {
        auto history = alice.history();
        return !history.empty() && history.back().body == "it's me, bob";
      },
      5s));
  CHECK(alice.history().back().trust == core::Trust::kUnverified);

  // The real Bob meets Alice; reading the numbers aloud exposes Mallory.
  bob.start(test::loopback_with_peers({alice.endpoint()}));
  REQUIRE(wait_until([&] { return bob.sees_online(alice.fingerprint()); }, 5s));
  REQUIRE(bob.node().add_contact("alice").is_ok());
  const auto at_alice = alice.node().safety_number(mallory.fingerprint());
  const auto at_bob = bob.node().safety_number("alice");
  const auto at_mallory = mallory.node().safety_number("alice");
  REQUIRE(at_alice.is_ok());
  REQUIRE(at_bob.is_ok());
  REQUIRE(at_mallory.is_ok());
  CHECK(at_alice.value() != at_bob.value());
  CHECK(at_alice.value() == at_mallory.value());  // consistent, but with the wrong party

  // Nothing made the impostor verified, and a strict channel will not take it.
  auto contact = alice.node().contacts().value();
  auto it = std::find_if(contact.begin(), contact.end(), [&](const core::ContactInfo& c) {
    return c.fingerprint == mallory.fingerprint();
  });
  REQUIRE(it != contact.end());
  CHECK(it->trust == core::Trust::kUnverified);
  REQUIRE(alice.node().create_channel("ops", true).is_ok());
  auto invited = alice.node().invite_to_channel("ops", mallory.fingerprint());
  CHECK_FALSE(invited.is_ok());
  auto channel = test::channel_of(alice, "ops");
  REQUIRE(channel.has_value());
  CHECK(test::member_fingerprints(*channel) == std::set<std::string>{alice.fingerprint()});
}

TEST_CASE(
    "ZMTP 1.0 and 2.0 clients (no security mechanism at all) and NULL or PLAIN greetings are "
    "refused before any frame",
    "[adversarial][downgrade]") {
  ProfileNode node("target");
  node.start();
  const uint64_t frames_before = node.counter("transport_frames_in");
  const uint64_t admitted_before = node.counter("zap_admitted");
  // A NULL client sends READY right after its greeting; a PLAIN one a HELLO with credentials.
  Bytes null_ready = test::zmtp3_greeting("NULL");
  const Bytes ready = {0x04, 0x1a, 0x05, 'R', 'E', 'A', 'D', 'Y', 0x0b, 'S',
                       'o',  'c',  'k',  'e', 't', '-', 'T', 'y', 'p',  'e',
                       0,    0,    0,    6,   'D', 'E', 'A', 'L', 'E',  'R'};
  null_ready.insert(null_ready.end(), ready.begin(), ready.end());
  Bytes plain_hello = test::zmtp3_greeting("PLAIN");
  const Bytes hello = {0x04, 0x0a, 0x05, 'H', 'E', 'L', 'L', 'O', 0x01, 'u', 0x01, 'p'};
  plain_hello.insert(plain_hello.end(), hello.begin(), hello.end());
  const std::vector<Bytes> attempts = {test::zmtp1_greeting(), test::zmtp2_greeting(), null_ready,
                                       plain_hello};
  std::vector<test::RawTcp> clients;
  for (size_t i = 0; i < attempts.size(); ++i) clients.emplace_back("127.0.0.1", node.port());
  REQUIRE(test::wait_connected(clients, 2s) == clients.size());
  for (size_t i = 0; i < attempts.size(); ++i) clients[i].send(attempts[i]);
  const auto closed = test::wait_closed(clients, std::chrono::steady_clock::now(), 7s);
  for (size_t i = 0; i < closed.size(); ++i) {
    INFO("attempt " << i);
    REQUIRE(closed[i].has_value());
    // Refused on sight, not left to the 5 s handshake timeout.
    CHECK(*closed[i] < 1s);
  }
  CHECK(node.counter("transport_frames_in") == frames_before);
  CHECK(node.counter("zap_admitted") == admitted_before);
  CHECK(node.node().peers().empty());
}
