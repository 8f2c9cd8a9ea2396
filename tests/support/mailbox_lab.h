// What the mailbox tests share (tests/integration/mailbox_test.cpp, tests/adversarial/
// mailbox_attack_test.cpp): a mailbox node, alice and bob, set up as a user would, and views of
// what arrived where.
// Thread-safety: the test's thread. Failures are Catch2 REQUIREs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sotto/core/node.h"
#include "tests/support/profile_node.h"

namespace sotto::test {

// Loopback options of a node serving as a mailbox, on `listen` when given (to come back where
// its users' records say it is).
core::NodeOptions mailbox_options(const std::string& listen = "", core::MailboxLimits limits = {});

// Alice and bob, both running, become contacts; bob uses the node `mailbox_fingerprint` (online
// to him) as his mailbox, and alice has his signed record naming it.
void befriend_and_name(ProfileNode& alice, ProfileNode& bob,
                       const std::string& mailbox_fingerprint);

// "PREFIX 000", "PREFIX 001", ...
std::vector<std::string> numbered_texts(const std::string& prefix, int n);
// Sends them all at once (one group commit) and waits until each is committed.
void send_all(ProfileNode& from, const std::string& to, const std::vector<std::string>& texts);
// The texts `node` archived from `from`, in archive order, repeats included.
std::vector<std::string> received_from(ProfileNode& node, const std::string& from);
// How many of `node`'s own messages to `to` are in `state`.
size_t in_state(ProfileNode& node, const std::string& to, core::MessageState state);
// The mailbox's view of its user `fingerprint`, if it is one.
std::optional<core::MailboxUser> mailbox_user(core::Node& mailbox, const std::string& fingerprint);

}  // namespace sotto::test
