// What the messenger unit tests' parties share (tests/unit/core/messenger_test.cpp,
// channel_messenger_test.cpp): each party is an Account and a Messenger whose node the test
// stands in for, with the node's peer table and counters kept in the party.
// Thread-safety: the test's thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sotto/core/account.h"
#include "src/core/messenger.h"

namespace sotto::test {

// `other`, as a node's peer table shows a peer online on loopback.
inline core::PeerInfo online_peer(const core::Account& other) {
  core::PeerInfo info;
  info.fingerprint = other.fingerprint();
  info.name = other.name();
  info.endpoint = "tcp://127.0.0.1:1";
  info.state = net::PeerState::kOnline;
  info.identity_key = other.identity_key();
  info.transport_key = other.transport_public();
  return info;
}

// The node's answers from `me`'s own peer table (`peers`, by fingerprint) and counters
// (`counters`, by name).
template <class Party>
void serve_peers_and_counters(core::MessengerHooks& hooks, Party* me) {
  hooks.peer = [me](const std::string& fp) -> std::optional<core::PeerInfo> {
    auto it = me->peers.find(fp);
    if (it == me->peers.end()) return std::nullopt;
    return it->second;
  };
  hooks.peers = [me] {
    std::vector<core::PeerInfo> out;
    for (const auto& [fp, peer] : me->peers) out.push_back(peer);
    return out;
  };
  hooks.count = [me](core::Counter c, uint64_t n) { me->counters[std::string(to_string(c))] += n; };
}

}  // namespace sotto::test
