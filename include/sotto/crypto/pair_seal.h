// PairSeal: seals the datagrams one node sends another (doc/protocol.md, Voice datagrams).
//
// Live voice frames skip ZeroMQ and travel as single UDP datagrams from loop to loop. A
// datagram has no connection behind it, so it carries its own proof of origin. The frame itself
// is already sealed with the transmission key, but every listener holds that key; a key that
// only the talker and one listener can compute keeps one listener from forging the talker's
// frames to another:
//
//   shared  = crypto_box_beforenm(peer transport public key, own transport secret key)
//             (X25519, then HSalsa20: the same for both ends, for nobody else)
//   key     = BLAKE2b-256(key = shared, "sotto datagram v1" | sender key | receiver key)
//   datagram = 0x01 | sender transport key (32) | nonce (24, random) | XChaCha20-Poly1305 box
//              (aad: the first 33 bytes)
//
// The direction in the key keeps a datagram from being reflected back to its sender as the
// receiver's. A datagram carries no counter: a replayed one is a frame the talker already sent,
// which the voice layer refuses (crypto::ReplayWindow, transmissions it is not receiving).
//
// Thread-safety: immutable after creation; seal and open are const and reentrant.
#pragma once

#include <cstddef>
#include <optional>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"

namespace sotto::crypto {

class PairSeal {
 public:
  static constexpr uint8_t kVersion = 1;
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kHeaderSize = 1 + kKeySize;
  static constexpr size_t kNonceSize = 24;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kOverhead = kHeaderSize + kNonceSize + kTagSize;

  // For datagrams we send to `peer_public`. InvalidArgument for keys of the wrong size, or a
  // peer key that yields no shared secret (a low-order point).
  static Result<PairSeal> to(const SecretBytes& own_secret, ByteView own_public,
                             ByteView peer_public);
  // For datagrams `peer_public` sends us.
  static Result<PairSeal> from(const SecretBytes& own_secret, ByteView own_public,
                               ByteView peer_public);

  Bytes seal(ByteView plaintext) const;
  // AuthFailed unless the datagram was sealed by the sender this PairSeal was made `from`, for
  // us; Corruption when it is not a datagram of this version at all.
  Result<Bytes> open(ByteView datagram) const;

  // The sender key a datagram names, unproven until open() succeeds; nullopt when it is too
  // short or of another version.
  static std::optional<Bytes> claimed_sender(ByteView datagram);

 private:
  PairSeal(SecretBytes key, Bytes header) : key_(std::move(key)), header_(std::move(header)) {}
  static Result<PairSeal> derive(const SecretBytes& own_secret, ByteView peer_public,
                                 ByteView sender, ByteView receiver, ByteView header_key);

  SecretBytes key_;
  Bytes header_;  // version | sender key: what seal() writes and open() expects
};

}  // namespace sotto::crypto
