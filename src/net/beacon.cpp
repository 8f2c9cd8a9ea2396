#include "sotto/net/beacon.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "sotto/crypto/signal_engine.h"

namespace sotto::net {
namespace {

constexpr std::array<uint8_t, 4> kMagic = {'S', 'T', 'O', '1'};
constexpr uint8_t kFlagReply = 0x01;
constexpr uint8_t kIdentityKeyType = 0x05;  // libsignal's DJB_TYPE

// Field offsets, in layout order.
constexpr size_t kVersionAt = 4;
constexpr size_t kFlagsAt = 5;
constexpr size_t kPortAt = 6;
constexpr size_t kTransportKeyAt = 8;
constexpr size_t kIdentityKeyAt = kTransportKeyAt + kBeaconTransportKeySize;  // 40
constexpr size_t kIntervalAt = kIdentityKeyAt + kBeaconIdentityKeySize;       // 73
constexpr size_t kSentAtAt = kIntervalAt + 4;                                 // 77
constexpr size_t kNonceAt = kSentAtAt + 8;                                    // 85
constexpr size_t kEchoAt = kNonceAt + 8;                                      // 93
constexpr size_t kSignatureAt = kEchoAt + 8;                                  // 101
static_assert(kSignatureAt == kBeaconSignedSize);

constexpr std::string_view kSealInfo = "sotto beacon seal v1";

// Copies `field` into exactly `size` bytes at `out`: cut or zero-filled when the caller broke the
// size contract, so a bad Beacon gives a beacon peers refuse, never a write out of bounds.
void put_fixed(uint8_t* out, const Bytes& field, size_t size) {
  const size_t n = std::min(field.size(), size);
  if (n > 0) std::memcpy(out, field.data(), n);
  std::fill(out + n, out + size, uint8_t{0});
}

void put_big_endian(uint8_t* out, uint64_t value, size_t size) {
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(value >> (8 * (size - 1 - i)));
}

uint64_t get_big_endian(ByteView data, size_t at, size_t size) {
  uint64_t value = 0;
  for (size_t i = 0; i < size; ++i) value = (value << 8) | data[at + i];
  return value;
}

Status refuse(BeaconDrop reason, BeaconDrop* drop, const char* message) {
  if (drop != nullptr) *drop = reason;
  return Status::corruption(message);
}

}  // namespace

std::string_view beacon_drop_name(BeaconDrop drop) {
  switch (drop) {
    case BeaconDrop::kSize:
      return "size";
    case BeaconDrop::kMagic:
      return "magic";
    case BeaconDrop::kVersion:
      return "version";
    case BeaconDrop::kFlags:
      return "flags";
    case BeaconDrop::kPort:
      return "port";
    case BeaconDrop::kKey:
      return "key";
    case BeaconDrop::kSignature:
      return "signature";
    case BeaconDrop::kInterval:
      return "interval";
    case BeaconDrop::kSeal:
      return "seal";
  }
  return "unknown";
}

Bytes beacon_signed_part(const Beacon& beacon) {
  Bytes out(kBeaconSignedSize);
  std::copy(kMagic.begin(), kMagic.end(), out.begin());
  out[kVersionAt] = kBeaconVersion;
  out[kFlagsAt] = beacon.reply ? kFlagReply : 0;
  out[kPortAt] = static_cast<uint8_t>(beacon.port >> 8);
  out[kPortAt + 1] = static_cast<uint8_t>(beacon.port & 0xff);
  put_fixed(out.data() + kTransportKeyAt, beacon.transport_key, kBeaconTransportKeySize);
  put_fixed(out.data() + kIdentityKeyAt, beacon.identity_key, kBeaconIdentityKeySize);
  put_big_endian(out.data() + kIntervalAt, beacon.interval_ms, 4);
  put_big_endian(out.data() + kSentAtAt, beacon.sent_at_ms, 8);
  put_big_endian(out.data() + kNonceAt, beacon.nonce, 8);
  put_big_endian(out.data() + kEchoAt, beacon.echo, 8);
  return out;
}

Bytes encode_beacon(const Beacon& beacon) {
  Bytes out = beacon_signed_part(beacon);
  out.resize(kBeaconSize);
  put_fixed(out.data() + kSignatureAt, beacon.signature, kBeaconSignatureSize);
  return out;
}

Result<Beacon> sign_beacon(Beacon beacon, crypto::SignalEngine& engine) {
  beacon.identity_key = engine.identity().public_key;
  SOTTO_ASSIGN_OR_RETURN(beacon.signature, engine.sign(beacon_signed_part(beacon)));
  return beacon;
}

Result<Beacon> decode_beacon(ByteView data, BeaconDrop* drop, bool check_signature) {
  if (data.size() != kBeaconSize) return refuse(BeaconDrop::kSize, drop, "beacon: wrong size");
  if (!std::equal(kMagic.begin(), kMagic.end(), data.begin())) {
    return refuse(BeaconDrop::kMagic, drop, "beacon: bad magic");
  }
  if (data[kVersionAt] != kBeaconVersion) {
    return refuse(BeaconDrop::kVersion, drop, "beacon: unsupported version");
  }
  // Unknown flag bits are refused, not ignored: a later version that needs a flag bumps the
  // version, and a flipped bit cannot slip through unnoticed.
  if ((data[kFlagsAt] & ~kFlagReply) != 0) {
    return refuse(BeaconDrop::kFlags, drop, "beacon: bad flags");
  }
  const uint16_t port = static_cast<uint16_t>((data[kPortAt] << 8) | data[kPortAt + 1]);
  if (port == 0) return refuse(BeaconDrop::kPort, drop, "beacon: bad port");
  if (data[kIdentityKeyAt] != kIdentityKeyType) {
    return refuse(BeaconDrop::kKey, drop, "beacon: bad key");
  }
  const ByteView identity_key = data.subspan(kIdentityKeyAt, kBeaconIdentityKeySize);
  const auto interval_ms = static_cast<uint32_t>(get_big_endian(data, kIntervalAt, 4));
  if (interval_ms == 0 || interval_ms > kMaxBeaconIntervalMs) {
    return refuse(BeaconDrop::kInterval, drop, "beacon: bad interval");
  }
  if (check_signature &&
      !crypto::SignalEngine::verify(identity_key, data.first(kBeaconSignedSize),
                                    data.subspan(kSignatureAt, kBeaconSignatureSize))) {
    return refuse(BeaconDrop::kSignature, drop, "beacon: bad signature");
  }

  Beacon beacon;
  beacon.reply = (data[kFlagsAt] & kFlagReply) != 0;
  beacon.port = port;
  const ByteView transport_key = data.subspan(kTransportKeyAt, kBeaconTransportKeySize);
  beacon.transport_key.assign(transport_key.begin(), transport_key.end());
  beacon.identity_key.assign(identity_key.begin(), identity_key.end());
  beacon.interval_ms = interval_ms;
  beacon.sent_at_ms = get_big_endian(data, kSentAtAt, 8);
  beacon.nonce = get_big_endian(data, kNonceAt, 8);
  beacon.echo = get_big_endian(data, kEchoAt, 8);
  const ByteView signature = data.subspan(kSignatureAt, kBeaconSignatureSize);
  beacon.signature.assign(signature.begin(), signature.end());
  return beacon;
}

Status check_network_key(ByteView file_contents) {
  if (file_contents.size() > kMaxNetworkKeyBytes) {
    return Status::invalid_argument("it holds more than " + std::to_string(kMaxNetworkKeyBytes) +
                                    " bytes");
  }
  // The whole file is the key (BeaconSealer::from_secret): 32 random bytes end in a line break
  // one time in 128, and are still 32 bytes.
  if (file_contents.size() < kMinNetworkKeyBytes) {
    return Status::invalid_argument("it holds only " + std::to_string(file_contents.size()) +
                                    " bytes");
  }
  // A text's line end adds nothing to it, and would hide that the text repeats.
  ByteView key = file_contents;
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r'))
    key = key.first(key.size() - 1);
  if (key.empty()) return Status::invalid_argument("it holds only line breaks");
  // The shortest piece the key repeats (the whole key when it repeats none): n minus the
  // longest proper prefix that is also a suffix (Knuth-Morris-Pratt's failure function).
  std::vector<uint16_t> border(key.size(), 0);
  for (size_t i = 1; i < key.size(); ++i) {
    uint16_t k = border[i - 1];
    while (k > 0 && key[i] != key[k]) k = border[k - 1];
    border[i] = static_cast<uint16_t>(key[i] == key[k] ? k + 1 : k);
  }
  // Repeating means the piece comes at least twice: a random key whose first byte equals its
  // last (one time in 256) has a "period" one shorter than itself and repeats nothing.
  const size_t period = key.size() - border.back();
  if (period * 2 <= key.size()) {
    return Status::invalid_argument("it repeats the same " + std::to_string(period) +
                                    (period == 1 ? " byte" : " bytes"));
  }
  std::array<bool, 256> used{};
  for (uint8_t byte : key) used[byte] = true;
  const auto distinct = static_cast<size_t>(std::count(used.begin(), used.end(), true));
  constexpr double kLeastBits = 128;
  if (static_cast<double>(period) * std::log2(static_cast<double>(distinct)) <= kLeastBits) {
    return Status::invalid_argument("it uses only " + std::to_string(distinct) +
                                    " different bytes");
  }
  return Status::ok();
}

BeaconSealer BeaconSealer::from_secret(ByteView file_contents) {
  return BeaconSealer(crypto::hkdf_sha256(file_contents, {}, kSealInfo, crypto::kAeadKeySize));
}

Bytes BeaconSealer::seal(ByteView beacon) const {
  // Random 96-bit nonces are expected to collide only after about 2^48 seals under one key; a
  // LAN of nodes sending one beacon a second is nowhere near that.
  Bytes out = crypto::random_bytes(crypto::kAeadNonceSize);
  const Bytes sealed = crypto::aead_seal(key_, out, {}, beacon);
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Result<Bytes> BeaconSealer::open(ByteView sealed) const {
  if (sealed.size() != kSealedBeaconSize) {
    return Status::corruption("sealed beacon: wrong size");
  }
  auto plain = crypto::aead_open(key_, sealed.first(crypto::kAeadNonceSize), {},
                                 sealed.subspan(crypto::kAeadNonceSize));
  if (!plain.is_ok()) return Status::auth_failed("sealed beacon: wrong network key or tampered");
  return plain;
}

}  // namespace sotto::net
