// A peer's liveness as the front ends read it in PeerInfo::state: net's state machine
// (sotto/net/peer_liveness.h), re-exported so that a front end names core only.
#pragma once

#include "sotto/net/peer_liveness.h"

namespace sotto::core {

using PeerState = net::PeerState;

}  // namespace sotto::core
