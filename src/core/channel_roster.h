// The signed roster of a channel (DESIGN §7): what the admin signs, how a member checks it,
// and the security code people read aloud to prove they all see the same members.
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::core {

// "ddddd ddddd ddddd ddddd ddddd ddddd": SHA-256 over the channel id, the epoch and the sorted
// member identity keys, so any difference in who is listed changes it.
std::string channel_security_code(ByteView channel_id, uint64_t epoch,
                                  std::vector<Bytes> identity_keys);

// The bytes the admin signs for `roster_bytes` (a serialized wire::Roster).
Bytes roster_signing_input(ByteView roster_bytes);

// Parses and checks a ChannelUpdate: well-formed roster (16-byte id, UTF-8 names of at most 64
// bytes, 33-byte identity keys, no duplicates, the admin listed unless dissolved) signed by
// roster.admin_key. Corruption with a reason otherwise.
Result<wire::Roster> open_channel_update(const wire::ChannelUpdate& update);

}  // namespace sotto::core
