// The signed discovery beacon (doc/protocol.md, doc/protocol.md): a fixed-length binary record a
// node sends by UDP so peers learn its CurveZMQ transport key and the identity that vouches for it.
//
//   magic "STO1" | version (1) | flags (1) | TCP port (2, big-endian) | transport key (32) |
//   identity key (33, 0x05 first) | interval ms (4) | sent at ms (8) | nonce (8) | echo (8) |
//   XEdDSA signature (64) over the 101 bytes before it
//
// Version 2 added the four fields after the identity key (all big-endian): how long until the
// sender's next beacon, the sender's clock when it signed, a challenge for the receiver to echo,
// and the challenge of the receiver's it answers. They let a receiver keep a peer it holds no
// link to online on its beacons alone, without a replayed beacon doing the same (doc/protocol.md).
//
// There are no strings in it, so nothing a user typed leaks onto the LAN. A beacon is only a
// hint: it says which transport key to expect, and the peer counts as online only after a CURVE
// handshake with that key. With a network key (--network-key-file) the whole beacon is sealed,
// so hosts without the key cannot see who is present.
// Thread-safety: free functions are pure; a BeaconSealer is immutable after construction and may
// be shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"
#include "sotto/crypto/primitives.h"

namespace sotto::crypto {
class SignalEngine;
}

namespace sotto::net {

constexpr uint8_t kBeaconVersion = 2;
constexpr size_t kBeaconTransportKeySize = 32;  // CurveZMQ (Curve25519) public key
constexpr size_t kBeaconIdentityKeySize = 33;   // libsignal: type byte 0x05 + Curve25519 key
constexpr size_t kBeaconSignatureSize = 64;     // XEdDSA
// 4 magic + 1 version + 1 flags + 2 port + 32 + 33 + 4 interval + 8 sent at + 8 nonce + 8 echo
// = 101 signed bytes, then the signature.
constexpr size_t kBeaconSignedSize =
    4 + 1 + 1 + 2 + kBeaconTransportKeySize + kBeaconIdentityKeySize + 4 + 8 + 8 + 8;
constexpr size_t kBeaconSize = kBeaconSignedSize + kBeaconSignatureSize;  // 165
// The announced interval: at least a millisecond, at most ten minutes (a receiver waits about
// three of them before it holds the sender offline).
constexpr uint32_t kMaxBeaconIntervalMs = 600'000;
// nonce || ciphertext of the whole beacon || Poly1305 tag = 12 + 165 + 16 = 193.
constexpr size_t kSealedBeaconSize = crypto::kAeadNonceSize + kBeaconSize + crypto::kAeadTagSize;
// CZMQ's zbeacon carries at most UDP_FRAME_MAX (255) bytes per beacon: nodes that discover
// through it still hear ours.
static_assert(kBeaconSize <= 255 && kSealedBeaconSize <= 255);

struct Beacon {
  // A unicast answer to someone else's beacon: it must not itself be answered, or two nodes
  // would answer each other forever.
  bool reply = false;
  uint16_t port = 0;  // the ROUTER's TCP port; the unicast beacon socket uses the same number
  Bytes transport_key;
  Bytes identity_key;
  uint32_t interval_ms = 1000;  // the sender's next beacon comes within this
  // The sender's clock when it signed (milliseconds; its own epoch, only ever compared with
  // its own earlier beacons): a beacon older than one already seen proves nothing.
  uint64_t sent_at_ms = 0;
  uint64_t nonce = 0;  // a challenge the receiver answers with echo = nonce; 0: none
  uint64_t echo = 0;   // the receiver's challenge this beacon answers; 0: none
  Bytes signature;
};

// Why decode_beacon refused a datagram, so the node can count drops by reason.
enum class BeaconDrop : uint8_t {
  kSize,
  kMagic,
  kVersion,
  kFlags,
  kPort,
  kKey,
  kSignature,
  kInterval,
  // Never returned by decode_beacon: for the caller to count BeaconSealer::open failures
  // (no network key, another network key, or tampering) beside the others.
  kSeal,
};
constexpr size_t kBeaconDropReasons = static_cast<size_t>(BeaconDrop::kSeal) + 1;
// A short lowercase name for stats output: "size", "magic", ... "seal".
std::string_view beacon_drop_name(BeaconDrop drop);

// The first kBeaconSignedSize bytes of the encoded beacon: what the identity key signs.
// REQUIRES: transport_key and identity_key have their sizes (otherwise they are cut or
// zero-filled, and the result will not verify).
Bytes beacon_signed_part(const Beacon& beacon);
// kBeaconSize bytes. REQUIRES: every field has its size (as for beacon_signed_part).
Bytes encode_beacon(const Beacon& beacon);
// Fills identity_key and signature of `beacon` from `engine` (the node's own identity).
Result<Beacon> sign_beacon(Beacon beacon, crypto::SignalEngine& engine);

// Checks, in this order, size, magic, version, flags, port (non-zero), identity key prefix, the
// interval (1 ms to kMaxBeaconIntervalMs) and the signature. Every refusal is Corruption ("beacon:
// bad magic", ...); when `drop` is given it receives the reason. It is safe on any bytes.
// `check_signature` false: only for bytes identical to a beacon this process verified before.
Result<Beacon> decode_beacon(ByteView data, BeaconDrop* drop = nullptr,
                             bool check_signature = true);

// A network key file holds at least this many bytes (the sealing key's size) and at most
// kMaxNetworkKeyBytes (a key file is a few dozen bytes; a larger one is the wrong file).
constexpr size_t kMinNetworkKeyBytes = 32;
constexpr size_t kMaxNetworkKeyBytes = 4096;

// Refuses the contents of a network key file that are plainly not random (InvalidArgument, the
// message saying what is wrong): fewer than kMinNetworkKeyBytes (more than kMaxNetworkKeyBytes),
// a text shorter than that repeated, or content that could hold no more than 128 bits whatever
// it is (the length of the piece it repeats, or its whole length, times log2 of how many
// different bytes it uses: a few characters over and over). Trailing newlines count towards the
// length (a random key ends in one now and then) but not towards what the text holds.
// 32 random bytes pass, whatever they are, and so does their hex or base64 text.
//
// A weak file is refused, not stretched with a slow hash: every node must derive the same key,
// so the salt would be fixed and a captured beacon would let anyone guess a stretched phrase
// offline, slower but still; and the file is copied between hosts, never typed, so nothing is
// gained by letting it be memorable. This catches mistakes, not every weak file: a long
// sentence passes. Make the file from /dev/urandom.
Status check_network_key(ByteView file_contents);

// Seals and opens beacons with the LAN network key. Move-only: it owns the derived key.
class BeaconSealer {
 public:
  // The key is HKDF-SHA256(file_contents, no salt, "sotto beacon seal v1"). Every byte of the
  // file counts, a trailing newline included: hosts share the file, not a retyped phrase.
  // HKDF does not stretch: the file must already be random (check_network_key, where the file
  // is read).
  static BeaconSealer from_secret(ByteView file_contents);

  // kSealedBeaconSize bytes: a random 12-byte nonce, then ChaCha20-Poly1305 of `beacon`.
  // REQUIRES: beacon.size() == kBeaconSize, so every sealed beacon has the same length.
  Bytes seal(ByteView beacon) const;
  // The plain beacon (still to be checked with decode_beacon). Corruption for a wrong size;
  // AuthFailed for a wrong network key or tampered bytes.
  Result<Bytes> open(ByteView sealed) const;

 private:
  explicit BeaconSealer(SecretBytes key) : key_(std::move(key)) {}

  SecretBytes key_;
};

}  // namespace sotto::net
