// The profile's config.toml: node settings a user does not want to type every time.
//
//   listen = "tcp://10.1.0.1:7000"
//   interface = "eth0"
//   peers = ["tcp://10.1.0.2:7000", "tcp://10.1.0.3:7000#<40-char Z85 key>"]
//   discovery = true
//   beacon_port = 47474
//   network_key_file = "/etc/sotto/lan.key"
//   accept_unknown = true           # false: refuse first messages from unknown identities
//
// Options on the command line override the file. Unknown keys are errors (a typo must not be
// silently ignored), and so is a malformed file, with the line named.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/secret.h"
#include "sotto/base/status.h"

namespace sotto::core {

// The most a mailbox gives one user (--mailbox-quota, mailbox_quota_mib).
constexpr int64_t kMaxMailboxQuotaMib = 64 * 1024;

struct NodeConfig {
  std::optional<std::string> listen;
  std::optional<std::string> interface;
  std::vector<std::string> peers;
  std::optional<bool> discovery;
  std::optional<uint16_t> beacon_port;
  std::optional<uint16_t> voice_port;
  std::optional<std::string> network_key_file;
  std::optional<bool> accept_unknown;
  // Mailboxes (doc/guide.md, Mailboxes): the node to use as ours, serving as one for others,
  // and the quota per user when serving (MiB).
  std::optional<std::string> mailbox;
  std::optional<bool> serve_mailbox;
  std::optional<int64_t> mailbox_quota_mib;
};

// A missing file is an empty config. Errors: InvalidArgument "FILE line N: ...".
Result<NodeConfig> load_config(const std::string& path);

// The contents of the network key file at `path` (network_key_file, --network-key-file), read
// straight into locked memory. Errors: InvalidArgument, one line naming the file, when it
// cannot be read or is refused as weak (net::check_network_key says what is refused and why a
// weak file is not stretched instead), saying how to make a good one.
Result<SecretBytes> read_network_key(const std::string& path);

}  // namespace sotto::core
