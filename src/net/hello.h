// The Hello that opens every connection (doc/protocol.md, doc/protocol.md): who holds the CURVE key
// a connection was authenticated with.
//
// A beacon is a claim anyone can make: Mallory may sign a beacon that names Victim's transport
// key. CurveZMQ proves only that the client holds its key's secret, so the first frame on a
// connection is a Hello signed by the sender's identity over
//
//   "sotto hello v1" | client transport key (32) | server transport key (32) | version (4, BE)
//
// Only the holder of the client key can send it on that connection, and only the identity can
// sign it, so together they bind the key to the identity (a replay elsewhere names the wrong
// keys). The display name goes only to contacts and channel co-members; anyone else gets a
// digest keyed to its own transport key, so a stranger cannot list names but can still be
// matched by someone who types the name (`sotto add bob`).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "sotto.pb.h"
#include "sotto/base/bytes.h"
#include "sotto/base/status.h"

namespace sotto::crypto {
class SignalEngine;
}

namespace sotto::net {

constexpr size_t kNameDigestSize = 32;

Bytes hello_signing_input(ByteView client_key, ByteView server_key, uint32_t version);

// Fills hello.identity_key and hello.signature for a connection from `client_key` (ours) to
// `server_key` (the peer's).
Status sign_hello(wire::Hello& hello, crypto::SignalEngine& engine, ByteView client_key,
                  ByteView server_key);

// The identity key a Hello proves for a connection authenticated with `client_key` to
// `server_key` (ours). Corruption when the signature does not verify or a field is malformed.
Result<Bytes> check_hello(const wire::Hello& hello, ByteView client_key, ByteView server_key);

// What a stranger learns instead of `name`: SHA-256 over a context, the receiver's transport
// key and the name.
Bytes name_digest(ByteView receiver_transport_key, std::string_view name);

}  // namespace sotto::net
