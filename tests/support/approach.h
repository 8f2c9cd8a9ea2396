// How a HostileInsider gets a hearing from a real node: its signed beacon, so the node admits
// its transport key, then its Hello over a CURVE link, so what it sends next is credited to it.
// Thread-safety: the test's thread.
#pragma once

#include "tests/support/adversary.h"
#include "tests/support/profile_node.h"

namespace sotto::test {

// Returns once `victim` has bound the insider's key to its identity (REQUIREs it within 3 s).
// An insider speaking with a real node's keys is heard only by a victim started since that node
// last spoke to it (a running one keeps the real node's link state).
void approach(HostileInsider& insider, ProfileNode& victim);

// Returns once `victim` has done all it does for what `insider` sent before: a heartbeat sent
// now is read in a later round of its loop than those frames, so after their batch and what
// followed its commit.
void settled(HostileInsider& insider, ProfileNode& victim);

}  // namespace sotto::test
