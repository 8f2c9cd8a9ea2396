// Small helpers shared by the Messenger's and its owners' source files; not an interface.
#pragma once

#include <optional>
#include <string>

#include "sotto/base/bytes.h"
#include "sotto/core/events.h"
#include "sotto/net/peer_liveness.h"
#include "sotto/storage/channel_repo.h"

namespace sotto::core {

// libsignal files a sender key under a group id: ours is channel id || generation.
inline Bytes sender_key_group(ByteView channel_id, int64_t generation) {
  Bytes group(channel_id.begin(), channel_id.end());
  for (int shift = 24; shift >= 0; shift -= 8) {
    group.push_back(static_cast<uint8_t>(static_cast<uint64_t>(generation) >> shift));
  }
  return group;
}

inline std::string conversation_of(const storage::ChannelRecord& channel) {
  return "#" + to_hex(channel.id);
}

inline bool is_online(const std::optional<PeerInfo>& peer) {
  return peer &&
         (peer->state == net::PeerState::kOnline || peer->state == net::PeerState::kEvasive);
}

inline Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

}  // namespace sotto::core
