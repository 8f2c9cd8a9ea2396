#include "tests/support/conversation.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "sotto/storage/message_repo.h"
#include "sotto/storage/voice_clip_repo.h"
#include "sotto/voice/clip.h"
#include "src/core/account_internals.h"
#include "tests/support/adversary.h"
#include "tests/support/profiles.h"
#include "tests/support/speech.h"
#include "tests/support/wait.h"

namespace sotto::test {
namespace {

using namespace std::chrono_literals;

template <typename T>
T must(Result<T> result, const std::string& what) {
  if (!result.is_ok()) throw std::runtime_error(what + ": " + result.status().message());
  return std::move(result).value();
}

bool archived(ProfileNode& node, const std::string& to, const std::string& body) {
  auto history = node.history(to);
  return std::any_of(history.begin(), history.end(),
                     [&](const core::MessageInfo& m) { return m.body == body; });
}

bool all_delivered(ProfileNode& node) {
  auto history = node.history();
  return std::all_of(history.begin(), history.end(), [](const core::MessageInfo& m) {
    return !m.outgoing || m.kind == core::MessageKind::kSystem ||
           m.state == core::MessageState::kDelivered;
  });
}

void require(bool condition, const std::string& what) {
  if (!condition) throw std::runtime_error("OverheardConversation: " + what);
}

}  // namespace

OverheardConversation::OverheardConversation()
    : alice_name_(unique_marker("alice-")),
      bob_name_(unique_marker("bob-")),
      channel_("#" + unique_marker("ops-")),
      alice_(std::make_unique<ProfileNode>(alice_name_)),
      bob_(std::make_unique<ProfileNode>(bob_name_)) {
  if (!have_alsa_speech()) throw std::runtime_error("alsa-utils sample sounds missing");
  // Bob is given Alice's mirror; the relay forwards his beacon from his own mirror, so Alice
  // learns and connects to that: both directions of both links cross the relay.
  alice_->start();
  relay_ = std::make_unique<LoopbackRelay>(std::vector<uint16_t>{alice_->port()});
  bob_->start(loopback_with_peers({LoopbackRelay::endpoint_of(alice_->port())}));
  relay_->mirror(bob_->port());
  // Live voice frames go as datagrams to the voice port each Hello names, at the address the
  // link goes to (the mirror): mirrored too, they cross the relay like the rest.
  relay_->mirror(alice_->node().voice_port());
  relay_->mirror(bob_->node().voice_port());
  require(wait_until(
              [&] {
                return alice_->sees_online(bob_->fingerprint()) &&
                       bob_->sees_online(alice_->fingerprint());
              },
              6s),
          "the nodes did not see each other online");

  // 1:1, both ways. Until Bob answers, Alice's texts are PreKeySignalMessages.
  must(alice_->node().add_contact(bob_name_), "adding bob");
  must(alice_->node().confirm_contact(bob_name_), "verifying bob");
  bodies_.push_back(unique_marker("direct-to-bob-"));
  must(alice_->node().send_text(bob_name_, bodies_.back()), "texting bob");
  require(wait_until([&] { return archived(*bob_, "", bodies_.back()); }, 5s),
          "bob did not get the 1:1 text");
  bodies_.push_back(unique_marker("direct-to-alice-"));
  must(bob_->node().send_text(alice_name_, bodies_.back()), "texting alice");
  require(wait_until([&] { return archived(*alice_, "", bodies_.back()); }, 5s),
          "alice did not get the 1:1 text");

  // A strict channel: Alice's sender key reaches Bob with the invitation, Bob's goes out with
  // his first text to the channel.
  must(alice_->node().create_channel(channel_.substr(1), true), "creating the channel");
  must(alice_->node().invite_to_channel(channel_, bob_name_), "inviting bob");
  // Bob compared numbers with Alice (the admin) too, so the channel is no mere invitation.
  require(wait_until([&] { return bob_->node().channel(channel_).is_ok(); }, 8s),
          "bob did not get the invitation");
  must(bob_->node().confirm_contact(alice_->fingerprint()), "verifying alice");
  must(bob_->node().accept_channel(channel_), "accepting the invitation");
  bodies_.push_back(unique_marker("channel-from-alice-"));
  must(alice_->node().send_text(channel_, bodies_.back()), "alice's channel text");
  require(wait_until([&] { return archived(*bob_, channel_, bodies_.back()); }, 8s),
          "bob did not get the channel text");
  bodies_.push_back(unique_marker("channel-from-bob-"));
  must(bob_->node().send_text(channel_, bodies_.back()), "bob's channel text");
  require(wait_until([&] { return archived(*alice_, channel_, bodies_.back()); }, 8s),
          "alice did not get bob's channel text");

  // Push to talk: about 1.4 s of real speech, in real time.
  const std::string wav = tmp_ / "speech.wav";
  write_speech(wav, alsa_speech({"Front_Center"}));
  voice_id_ = must(alice_->node().talk(channel_, wav), "talking").id;
  require(wait_until(
              [&] {
                auto history = bob_->history(channel_);
                return std::any_of(history.begin(), history.end(), [&](const auto& m) {
                  return m.kind == core::MessageKind::kVoice && m.id == voice_id_;
                });
              },
              5s),
          "bob did not archive the voice clip");
  require(wait_until([&] { return all_delivered(*alice_) && all_delivered(*bob_); }, 8s),
          "not everything was delivered");
}

OverheardConversation::~OverheardConversation() {
  // Nodes before the relay, so neither sees its link break first.
  alice_.reset();
  bob_.reset();
}

std::vector<std::string> OverheardConversation::user_strings() const {
  std::vector<std::string> out = bodies_;
  out.push_back(alice_name_);
  out.push_back(bob_name_);
  out.push_back(channel_.substr(1));
  return out;
}

std::vector<Bytes> OverheardConversation::voice_packets() {
  alice_->stop();
  auto account = open_account(alice_->profile_dir());
  storage::MessageRepo messages(core::AccountInternals::db(*account));
  const auto id = from_hex(voice_id_);
  require(id.has_value(), "bad voice id " + voice_id_);
  auto row = must(messages.find_row(alice_->fingerprint(), *id), "finding the clip's row");
  require(row.has_value(), "alice has no row for her clip");
  auto clip = must(storage::VoiceClipRepo(core::AccountInternals::db(*account)).find(*row),
                   "reading the clip");
  require(clip.has_value(), "alice has no clip for her voice message");
  return must(voice::decode_packets(clip->packets), "decoding the clip's packets");
}

}  // namespace sotto::test
