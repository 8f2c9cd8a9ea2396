// The discovery beacon: round trip, the tamper loop over every bit, each refusal reason with a
// correctly signed beacon behind it, a stolen identity key, and the network-key seal.
#include <sodium.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/net/beacon.h"

using namespace sotto;
using namespace sotto::net;

namespace {

std::unique_ptr<crypto::SignalEngine> make_identity() {
  auto identity = crypto::SignalEngine::generate_identity();
  REQUIRE(identity.is_ok());
  auto engine =
      crypto::SignalEngine::create(std::move(identity).value(), crypto::make_memory_signal_state());
  REQUIRE(engine.is_ok());
  return std::move(engine).value();
}

// A beacon signed the way the node signs it: the identity key over beacon_signed_part.
Beacon signed_beacon(crypto::SignalEngine& engine, bool reply = false, uint16_t port = 47001) {
  Beacon beacon;
  beacon.reply = reply;
  beacon.port = port;
  beacon.transport_key = crypto::random_bytes(kBeaconTransportKeySize);
  beacon.identity_key = engine.identity().public_key;
  beacon.interval_ms = 8000;
  beacon.sent_at_ms = 0x0102030405060708;
  beacon.nonce = 0x1112131415161718;
  beacon.echo = 0x2122232425262728;
  auto signature = engine.sign(beacon_signed_part(beacon));
  REQUIRE(signature.is_ok());
  beacon.signature = std::move(signature).value();
  return beacon;
}

// Replaces the signature of an encoded beacon with `engine`'s over its first 101 bytes, so a
// test reaches the check it aims at rather than stopping at a bad signature.
void resign(Bytes& encoded, crypto::SignalEngine& engine) {
  auto signature = engine.sign(ByteView(encoded).first(kBeaconSignedSize));
  REQUIRE(signature.is_ok());
  REQUIRE(signature.value().size() == kBeaconSignatureSize);
  std::copy(signature.value().begin(), signature.value().end(),
            encoded.begin() + kBeaconSignedSize);
}

// Decodes bytes that must be refused; returns the reason after checking the status agrees.
BeaconDrop refusal(ByteView data, const std::string& expected_message) {
  auto drop = static_cast<BeaconDrop>(0xff);  // not a reason: shows whether it was written
  auto decoded = decode_beacon(data, &drop);
  REQUIRE_FALSE(decoded.is_ok());
  CHECK(decoded.status().code() == StatusCode::kCorruption);
  CHECK(decoded.status().message() == expected_message);
  return drop;
}

bool contains(const Bytes& haystack, const Bytes& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

}  // namespace

TEST_CASE("a signed beacon decodes to the same fields", "[net][beacon]") {
  auto engine = make_identity();
  for (bool reply : {false, true}) {
    const Beacon beacon = signed_beacon(*engine, reply, 65535);
    const Bytes encoded = encode_beacon(beacon);
    REQUIRE(encoded.size() == kBeaconSize);
    CHECK(Bytes(encoded.begin(), encoded.begin() + 4) == Bytes{'S', 'T', 'O', '1'});
    CHECK(encoded[4] == 2);
    CHECK(encoded[5] == (reply ? 0x01 : 0x00));
    CHECK(encoded[6] == 0xff);
    CHECK(encoded[7] == 0xff);
    // After the identity key: interval, sent at, nonce, echo, all big-endian.
    CHECK(Bytes(encoded.begin() + 73, encoded.begin() + 77) == Bytes{0, 0, 0x1f, 0x40});
    CHECK(encoded[77] == 0x01);
    CHECK(encoded[84] == 0x08);
    CHECK(encoded[85] == 0x11);
    CHECK(encoded[100] == 0x28);
    CHECK(Bytes(encoded.begin(), encoded.begin() + kBeaconSignedSize) ==
          beacon_signed_part(beacon));

    auto decoded = decode_beacon(encoded);
    INFO(decoded.status().message());
    REQUIRE(decoded.is_ok());
    CHECK(decoded->reply == reply);
    CHECK(decoded->port == 65535);
    CHECK(decoded->transport_key == beacon.transport_key);
    CHECK(decoded->identity_key == engine->identity().public_key);
    CHECK(decoded->interval_ms == 8000);
    CHECK(decoded->sent_at_ms == 0x0102030405060708);
    CHECK(decoded->nonce == 0x1112131415161718);
    CHECK(decoded->echo == 0x2122232425262728);
    CHECK(decoded->signature == beacon.signature);
  }
}

TEST_CASE("sign_beacon fills in the node's identity key and a signature that verifies",
          "[net][beacon]") {
  auto engine = make_identity();
  Beacon beacon;
  beacon.port = 5555;
  beacon.transport_key = crypto::random_bytes(kBeaconTransportKeySize);
  auto signed_one = sign_beacon(beacon, *engine);
  REQUIRE(signed_one.is_ok());
  CHECK(signed_one->identity_key == engine->identity().public_key);
  auto decoded = decode_beacon(encode_beacon(signed_one.value()));
  REQUIRE(decoded.is_ok());
  CHECK(decoded->port == 5555);
  CHECK(decoded->transport_key == beacon.transport_key);
}

TEST_CASE("every single bit flip of an encoded beacon is refused", "[net][beacon]") {
  auto engine = make_identity();
  const Bytes encoded = encode_beacon(signed_beacon(*engine));
  REQUIRE(decode_beacon(encoded).is_ok());

  std::vector<size_t> accepted_bits;
  size_t refused = 0;
  for (size_t bit = 0; bit < kBeaconSize * 8; ++bit) {
    Bytes tampered = encoded;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto decoded = decode_beacon(tampered);
    if (decoded.is_ok()) {
      accepted_bits.push_back(bit);
    } else if (decoded.status().code() == StatusCode::kCorruption) {
      ++refused;
    }
  }
  CHECK(accepted_bits.empty());
  CHECK(refused == kBeaconSize * 8);
}

TEST_CASE("a beacon of the wrong size is refused as such", "[net][beacon]") {
  auto engine = make_identity();
  const Bytes encoded = encode_beacon(signed_beacon(*engine));
  for (size_t size : {size_t{0}, size_t{1}, kBeaconSize - 1, kBeaconSize + 1, kSealedBeaconSize}) {
    Bytes data = encoded;
    data.resize(size, 0);
    INFO("size " << size);
    CHECK(refusal(data, "beacon: wrong size") == BeaconDrop::kSize);
  }
}

TEST_CASE("a correctly signed beacon with a bad header field is refused with its reason",
          "[net][beacon]") {
  auto engine = make_identity();
  const Bytes good = encode_beacon(signed_beacon(*engine));

  struct Case {
    const char* what;
    size_t offset;
    uint8_t value;
    BeaconDrop drop;
    const char* message;
  };
  const Case cases[] = {
      {"magic STO2", 3, '2', BeaconDrop::kMagic, "beacon: bad magic"},
      {"magic sTO1", 0, 's', BeaconDrop::kMagic, "beacon: bad magic"},
      {"version 0", 4, 0, BeaconDrop::kVersion, "beacon: unsupported version"},
      {"version 1 (before the interval)", 4, 1, BeaconDrop::kVersion,
       "beacon: unsupported version"},
      {"version 3", 4, 3, BeaconDrop::kVersion, "beacon: unsupported version"},
      {"flags bit 1", 5, 0x02, BeaconDrop::kFlags, "beacon: bad flags"},
      {"flags reply + bit 7", 5, 0x81, BeaconDrop::kFlags, "beacon: bad flags"},
      {"identity key type 0x06", 40, 0x06, BeaconDrop::kKey, "beacon: bad key"},
      {"identity key type 0x00", 40, 0x00, BeaconDrop::kKey, "beacon: bad key"},
  };
  for (const Case& c : cases) {
    Bytes data = good;
    data[c.offset] = c.value;
    resign(data, *engine);
    INFO(c.what);
    CHECK(refusal(data, c.message) == c.drop);
  }

  SECTION("port 0") {
    Bytes data = good;
    data[6] = 0;
    data[7] = 0;
    resign(data, *engine);
    CHECK(refusal(data, "beacon: bad port") == BeaconDrop::kPort);
  }

  SECTION("an interval of 0 or beyond ten minutes") {
    for (uint32_t interval : {0u, kMaxBeaconIntervalMs + 1}) {
      Bytes data = good;
      for (int i = 0; i < 4; ++i) data[73 + i] = static_cast<uint8_t>(interval >> (24 - 8 * i));
      resign(data, *engine);
      INFO(interval);
      CHECK(refusal(data, "beacon: bad interval") == BeaconDrop::kInterval);
    }
  }
}

TEST_CASE("a beacon re-signed by another identity but carrying the first identity's key is refused",
          "[net][beacon]") {
  auto victim = make_identity();
  auto mallory = make_identity();
  // Mallory announces her own transport key under the victim's identity, signing with her key.
  Bytes forged = encode_beacon(signed_beacon(*victim));
  std::fill(forged.begin() + 8, forged.begin() + 40, uint8_t{0x42});
  resign(forged, *mallory);
  CHECK(refusal(forged, "beacon: bad signature") == BeaconDrop::kSignature);

  // The same bytes under her own identity key verify: the refusal is about the key binding.
  std::copy(mallory->identity().public_key.begin(), mallory->identity().public_key.end(),
            forged.begin() + 40);
  resign(forged, *mallory);
  auto honest = decode_beacon(forged);
  REQUIRE(honest.is_ok());
  CHECK(honest->identity_key == mallory->identity().public_key);
}

TEST_CASE("every drop reason has its own name", "[net][beacon]") {
  std::set<std::string> names;
  for (size_t i = 0; i < kBeaconDropReasons; ++i) {
    names.insert(std::string(beacon_drop_name(static_cast<BeaconDrop>(i))));
  }
  CHECK(names.size() == kBeaconDropReasons);
  CHECK(names.count("unknown") == 0);
  CHECK(beacon_drop_name(BeaconDrop::kSignature) == "signature");
}

TEST_CASE("a sealed beacon opens with the same network key and not with another", "[net][beacon]") {
  auto engine = make_identity();
  const Bytes plain = encode_beacon(signed_beacon(*engine));
  const auto sealer_a = BeaconSealer::from_secret(as_bytes("network secret A\n"));
  const auto sealer_a_again = BeaconSealer::from_secret(as_bytes("network secret A\n"));
  const auto sealer_b = BeaconSealer::from_secret(as_bytes("network secret B\n"));
  const auto sealer_a_no_newline = BeaconSealer::from_secret(as_bytes("network secret A"));

  const Bytes sealed = sealer_a.seal(plain);
  REQUIRE(sealed.size() == kSealedBeaconSize);
  CHECK(kSealedBeaconSize == 193);
  CHECK(kSealedBeaconSize <= 255);  // CZMQ's UDP_FRAME_MAX: zbeacon nodes hear it

  auto opened = sealer_a_again.open(sealed);
  INFO(opened.status().message());
  REQUIRE(opened.is_ok());
  CHECK(opened.value() == plain);
  CHECK(decode_beacon(opened.value()).is_ok());

  auto wrong_key = sealer_b.open(sealed);
  REQUIRE_FALSE(wrong_key.is_ok());
  CHECK(wrong_key.status().code() == StatusCode::kAuthFailed);
  CHECK_FALSE(sealer_a_no_newline.open(sealed).is_ok());
}

TEST_CASE("a sealed beacon has a fixed length and hides the keys it carries", "[net][beacon]") {
  auto engine = make_identity();
  const Beacon beacon = signed_beacon(*engine);
  const Bytes plain = encode_beacon(beacon);
  const auto sealer = BeaconSealer::from_secret(as_bytes("lan key"));

  const Bytes first = sealer.seal(plain);
  const Bytes second = sealer.seal(plain);
  CHECK(first.size() == kSealedBeaconSize);
  CHECK(second.size() == kSealedBeaconSize);
  CHECK(first != second);  // fresh nonce each time: repeats are not linkable by their bytes
  for (const Bytes& sealed : {first, second}) {
    CHECK_FALSE(contains(sealed, beacon.identity_key));
    CHECK_FALSE(
        contains(sealed, Bytes(beacon.identity_key.begin() + 1, beacon.identity_key.end())));
    CHECK_FALSE(contains(sealed, beacon.transport_key));
    CHECK_FALSE(contains(sealed, Bytes{'S', 'T', 'O', '1'}));
  }
}

TEST_CASE("a tampered or mis-sized sealed beacon does not open", "[net][beacon]") {
  auto engine = make_identity();
  const auto sealer = BeaconSealer::from_secret(as_bytes("lan key"));
  const Bytes sealed = sealer.seal(encode_beacon(signed_beacon(*engine)));

  size_t opened = 0;
  for (size_t bit = 0; bit < kSealedBeaconSize * 8; ++bit) {
    Bytes tampered = sealed;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto result = sealer.open(tampered);
    if (result.is_ok() || result.status().code() != StatusCode::kAuthFailed) ++opened;
  }
  CHECK(opened == 0);

  for (size_t size : {size_t{0}, kBeaconSize, kSealedBeaconSize - 1, kSealedBeaconSize + 1}) {
    Bytes data = sealed;
    data.resize(size, 0);
    auto result = sealer.open(data);
    REQUIRE_FALSE(result.is_ok());
    CHECK(result.status().code() == StatusCode::kCorruption);
  }
}

TEST_CASE(
    "a network key must be 32 random bytes or their text: a short file, a short text repeated "
    "and a few characters are refused",
    "[net][beacon][security]") {
  auto refusal = [](const std::string& contents) {
    const Status status = check_network_key(as_bytes(contents));
    return status.is_ok() ? std::string() : status.message();
  };
  // 32 distinct bytes, none of them a line break that the check would trim: a key of random
  // bytes ends in one now and then, and the test must not depend on the draw.
  Bytes random(32);
  for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<uint8_t>(i * 37 + 11);
  const std::string raw(random.begin(), random.end());
  CHECK(refusal(raw).empty());
  CHECK(refusal(raw + "\n").empty());
  CHECK(refusal(to_hex(random) + "\n").empty());  // openssl rand -hex 32
  std::string base64(sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(base64.data(), base64.size(), random.data(), random.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  base64.pop_back();                      // the terminating NUL
  CHECK(refusal(base64 + "\n").empty());  // openssl rand -base64 32

  CHECK(refusal("") == "it holds only 0 bytes");
  CHECK(refusal(raw.substr(0, 31)) == "it holds only 31 bytes");
  CHECK(refusal("\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n") ==
        "it holds only line breaks");
  // Random draws that the check once refused (about one in 90 keys from /dev/urandom): one
  // ending in a line break (still 32 bytes), one whose first and last bytes are equal.
  CHECK(refusal(raw.substr(0, 31) + "\n").empty());
  CHECK(refusal(raw.substr(0, 31) + raw.substr(0, 1)).empty());
  CHECK(refusal(raw.substr(0, 30) + raw.substr(0, 2)).empty());
  CHECK(refusal(std::string(4097, 'k')) == "it holds more than 4096 bytes");
  CHECK(refusal(std::string(64, 'x')) == "it repeats the same 1 byte");
  std::string hunter;
  while (hunter.size() < 64) hunter += "hunter2 ";
  CHECK(refusal(hunter + "\n") == "it repeats the same 8 bytes");
  CHECK(refusal(raw.substr(0, 20) + raw.substr(0, 20) + raw.substr(0, 12)) ==
        "it repeats the same 20 bytes");
  // Never repeating, but 64 of four letters hold at most 128 bits, as does a 16-byte key's hex.
  CHECK(refusal("gattacacgtagctgacctgatcgatcgttagcatgcatcgatgcagtcatgcagtacgtaccg") ==
        "it uses only 4 different bytes");
  // A 16-byte key's hex, whatever its first and last digits.
  CHECK(refusal(to_hex(ByteView(random).first(16))) == "it uses only 16 different bytes");
  std::string hex16 = to_hex(ByteView(random).first(16));
  hex16.back() = hex16.front();
  CHECK(refusal(hex16).rfind("it uses only ", 0) == 0);
}
