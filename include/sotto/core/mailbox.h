// Mailboxes as the front ends see them (doc/guide.md, Mailboxes): the node we use as our
// mailbox, and, on a node serving as one (`sotto daemon --mailbox`), its users.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sotto::core {

// Sizes a mailbox keeps to: per user, and how many users it takes.
struct MailboxLimits {
  int64_t quota_bytes = int64_t{32} << 20;
  int64_t max_users = 256;
  // Nothing is held longer than this (a disappearing message: its own time, if shorter).
  int64_t max_hold_ms = int64_t{30} * 24 * 3600 * 1000;
};

struct MailboxUser {
  std::string fingerprint;
  std::string name;  // as this node knows it; empty for a stranger
  int64_t held = 0;  // frames waiting for the user
  int64_t held_bytes = 0;
  int64_t senders = 0;  // identities the user lets deposit
};

// "none": we use no mailbox; "waiting": named, not heard from since the node started;
// "accepted" / "refused": its last answer.
struct MailboxInfo {
  std::string mailbox;  // the mailbox node's fingerprint; empty: none
  std::string name;
  std::string endpoint;
  std::string state = "none";
  std::string reason;  // why it refused
  bool online = false;
  int64_t held = -1;  // frames it held for us when it last said; -1: unknown
  int64_t quota_bytes = 0;
  // Serving as a mailbox (`sotto daemon --mailbox`).
  bool serving = false;
  MailboxLimits limits;
  std::vector<MailboxUser> users;
};

}  // namespace sotto::core
