// PairSeal: seals the datagrams one node sends another (doc/protocol.md, Voice datagrams).
//
// Live voice frames skip ZeroMQ and travel as single UDP datagrams from loop to loop. A
// datagram has no connection behind it, so it carries its own proof of origin and freshness.
// The frame inside is already sealed with the transmission key, but every listener holds that
// key; a key that only the talker and one listener can compute keeps one listener from forging
// the talker's frames to another:
//
//   shared = crypto_box_beforenm(peer transport public key, own transport secret key)
//            (X25519, then HSalsa20: the same at both ends, for nobody else)
//   key    = BLAKE2b-256(key = shared, "sotto datagram v1" | sender key | receiver key)
//   tag    = BLAKE2b-128(key = key, "sotto datagram tag v1" | session (8, BE))
//   datagram = 0x01 | tag (16) | nonce: session (8, BE) | number (8, BE) | 0 (8)
//              | XChaCha20-Poly1305 box (aad: version and tag)
//
// The direction in the key keeps a datagram from being reflected back to its sender. The
// session is the sender's random number for its run, told to the receiver in its Hello over the
// link; the number counts up across the sender's datagrams. So the receiver finds the sender by
// the tag (one lookup, no key agreement for strangers; an observer sees no transport key, and a
// new tag each run) and refuses a replay: a number it took already, one far behind, or a datagram
// of an earlier run, whose tag it no longer knows.
//
// Thread-safety: immutable after creation; seal and open are const and reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"

namespace sotto::crypto {

class PairSeal {
 public:
  static constexpr uint8_t kVersion = 1;
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kHeaderSize = 1 + kTagSize;
  static constexpr size_t kNonceSize = 24;
  static constexpr size_t kMacSize = 16;
  static constexpr size_t kOverhead = kHeaderSize + kNonceSize + kMacSize;

  // For datagrams we send to `peer_public` in our `session`. InvalidArgument for keys of the
  // wrong size, or a peer key that yields no shared secret (a low-order point).
  static Result<PairSeal> to(const SecretBytes& own_secret, ByteView own_public,
                             ByteView peer_public, uint64_t session);
  // For datagrams `peer_public` sends us in its `session`.
  static Result<PairSeal> from(const SecretBytes& own_secret, ByteView own_public,
                               ByteView peer_public, uint64_t session);

  // `number`: never the same twice in a session (the sender's counter).
  Bytes seal(uint64_t number, ByteView plaintext) const;

  struct Opened {
    uint64_t number = 0;
    Bytes plaintext;
  };
  // AuthFailed unless the datagram was sealed in this PairSeal's pair, direction and session;
  // Corruption when it is not a datagram of this version at all.
  Result<Opened> open(ByteView datagram) const;

  const Bytes& tag() const { return tag_; }
  uint64_t session() const { return session_; }
  // The tag a datagram names, unproven until open() succeeds; nullopt when it is too short or of
  // another version.
  static std::optional<Bytes> tag_of(ByteView datagram);

 private:
  PairSeal(SecretBytes key, Bytes tag, uint64_t session)
      : key_(std::move(key)), tag_(std::move(tag)), session_(session) {}
  static Result<PairSeal> derive(const SecretBytes& own_secret, ByteView peer_public,
                                 ByteView sender, ByteView receiver, uint64_t session);

  SecretBytes key_;
  Bytes tag_;
  uint64_t session_ = 0;
};

}  // namespace sotto::crypto
