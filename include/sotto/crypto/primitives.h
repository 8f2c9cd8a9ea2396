// Symmetric primitives on OpenSSL 3 for the layers above: random bytes, HKDF-SHA256,
// ChaCha20-Poly1305 (IETF, 12-byte nonce) and SHA-256. Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"

namespace sotto::crypto {

constexpr size_t kAeadKeySize = 32;
constexpr size_t kAeadNonceSize = 12;
constexpr size_t kAeadTagSize = 16;

// Fills `out` from the system CSPRNG. Aborts the process if no randomness is available: there
// is no safe way to go on without it.
void random_bytes(std::span<uint8_t> out);
Bytes random_bytes(size_t count);

// HKDF-SHA256 (RFC 5869).
SecretBytes hkdf_sha256(ByteView input_key, ByteView salt, std::string_view info, size_t size);

Bytes sha256(ByteView data);

// ciphertext || tag. REQUIRES: key 32 bytes, nonce 12 bytes.
Bytes aead_seal(const SecretBytes& key, ByteView nonce, ByteView aad, ByteView plaintext);
// AuthFailed when the tag does not verify (tampered, wrong key, wrong nonce or aad).
Result<Bytes> aead_open(const SecretBytes& key, ByteView nonce, ByteView aad, ByteView sealed);

}  // namespace sotto::crypto
