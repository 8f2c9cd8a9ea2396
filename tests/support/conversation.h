// OverheardConversation: two real nodes that reach each other only through a LoopbackRelay
// (tests/support/relay.h; their links, beacons and voice datagrams), and a conversation between
// them that covers every kind of traffic a LAN observer could record: 1:1 text both ways (the first
// one a PreKeySignalMessage), a strict channel with text from both members (sender-key messages)
// and one push-to-talk transmission of real speech. Every string a user typed — display names,
// bodies, the channel's name — is a fresh random marker, so finding one in the capture cannot be a
// coincidence.
//
// The adversarial tests (tests/adversarial/) use it as the eavesdropper's recording and as the
// material an active attacker replays.
// Thread-safety: one test thread. Failures throw std::runtime_error (Catch2 reports them).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "tests/support/profile_node.h"
#include "tests/support/relay.h"
#include "tests/support/temp_dir.h"

namespace sotto::test {

class OverheardConversation {
 public:
  // Starts both nodes and the relay and holds the whole conversation; returns once everything
  // is archived on both sides and delivered.
  OverheardConversation();
  ~OverheardConversation();
  OverheardConversation(const OverheardConversation&) = delete;
  OverheardConversation& operator=(const OverheardConversation&) = delete;

  ProfileNode& alice() { return *alice_; }
  ProfileNode& bob() { return *bob_; }
  LoopbackRelay& relay() { return *relay_; }
  const std::string& alice_name() const { return alice_name_; }
  const std::string& bob_name() const { return bob_name_; }
  const std::string& channel() const { return channel_; }  // "#NAME"
  // Every text body sent, in order: Alice's 1:1, Bob's 1:1, Alice's and Bob's channel text.
  const std::vector<std::string>& bodies() const { return bodies_; }
  // Names and bodies: what must never be seen on the wire.
  std::vector<std::string> user_strings() const;
  // The message id of the voice clip.
  const std::string& voice_id() const { return voice_id_; }

  // The Opus packets Alice's encoder produced, as she archived them. Stops Alice's node, to
  // read her archive offline.
  std::vector<Bytes> voice_packets();

 private:
  TempDir tmp_;
  std::string alice_name_;
  std::string bob_name_;
  std::string channel_;
  std::unique_ptr<ProfileNode> alice_;
  std::unique_ptr<ProfileNode> bob_;
  std::unique_ptr<LoopbackRelay> relay_;
  std::vector<std::string> bodies_;
  std::string voice_id_;
};

}  // namespace sotto::test
