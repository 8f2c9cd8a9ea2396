// Checks an identity signature: libsignal's XEdDSA over a Curve25519 identity key, which is an
// Ed25519 signature under the Edwards form of that key (the form's sign bit rides in the
// signature's last byte). libsignal converts the key and checks with 32-bit ref10 on every
// call; here the converted key is kept per identity key and the check is libsodium's
// (64-bit arithmetic, and stricter: non-canonical signatures and small-order keys fail), so a
// LAN's beacons cost each node less than half as much (doc/performance.md, Scale).
// Thread-safety: safe from any thread (the cache of converted keys is locked).
#pragma once

#include "sotto/base/bytes.h"

namespace sotto::crypto {

// True when `signature` (64 bytes) is `identity_public_key`'s (libsignal's serialized form:
// 33 bytes, type 0x05) over `message`.
bool verify_identity_signature(ByteView identity_public_key, ByteView message, ByteView signature);

// The same check as libsignal's curve25519_verify asks it: `key` is 32 bytes (Curve25519, no
// type byte) and `signature` 64. Always computed here, never taken from a VerifyAhead batch.
bool check_xeddsa(const uint8_t* signature, const uint8_t* key, const uint8_t* message,
                  size_t message_len);

}  // namespace sotto::crypto

// libsignal's own signature check, which our program's definition replaces for every caller in
// libsignal (identity_signature.cpp says why): 0 when `signature` is `public_key`'s (32 bytes,
// Curve25519) over `message`.
extern "C" int curve25519_verify(const unsigned char* signature, const unsigned char* public_key,
                                 const unsigned char* message, unsigned long message_len);
