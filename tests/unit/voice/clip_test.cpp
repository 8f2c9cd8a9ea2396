// The clip encoding and what the talker signs (voice/clip.h).
#include <catch2/catch.hpp>

#include "sotto/base/bytes.h"
#include "sotto/voice/clip.h"

using namespace sotto;

TEST_CASE("clip packets round-trip; malformed encodings are refused", "[voice]") {
  const std::vector<Bytes> packets = {Bytes(60, 1), Bytes(1, 2), Bytes(1275, 3)};
  const Bytes encoded = voice::encode_packets(packets);
  CHECK(encoded.size() == 60 + 1 + 1275 + 6);
  auto decoded = voice::decode_packets(encoded);
  REQUIRE(decoded.is_ok());
  CHECK(decoded.value() == packets);
  CHECK(voice::decode_packets(ByteView(encoded).first(encoded.size() - 1)).status().code() ==
        StatusCode::kCorruption);
  CHECK_FALSE(voice::decode_packets(Bytes{0x00}).is_ok());
  CHECK_FALSE(voice::decode_packets(Bytes{0x00, 0x00}).is_ok());        // an empty packet
  CHECK_FALSE(voice::decode_packets(Bytes{0x05, 0x00, 0x01}).is_ok());  // longer than 1275
  CHECK(voice::decode_packets(Bytes{}).value().empty());
}

TEST_CASE("the signing input covers the channel, transmission, format and every packet",
          "[voice][security]") {
  voice::ClipFormat format{Bytes(16, 1), Bytes(16, 2), 48000, 20, 24000};
  const std::vector<Bytes> packets = {Bytes(60, 1), Bytes(60, 2)};
  const Bytes base = voice::clip_signing_input(format, 2, voice::encode_packets(packets));
  auto changed = [&](auto mutate) {
    voice::ClipFormat f = format;
    std::vector<Bytes> p = packets;
    uint32_t frames = 2;
    mutate(f, p, frames);
    return voice::clip_signing_input(f, frames, voice::encode_packets(p)) != base;
  };
  CHECK(changed([](auto& f, auto&, auto&) { f.channel_id[0] ^= 1; }));
  CHECK(changed([](auto& f, auto&, auto&) { f.transmission_id[15] ^= 1; }));
  CHECK(changed([](auto& f, auto&, auto&) { f.frame_ms = 10; }));
  CHECK(changed([](auto& f, auto&, auto&) { f.bitrate = 32000; }));
  CHECK(changed([](auto&, auto&, auto& n) { n = 3; }));
  CHECK(changed([](auto&, auto& p, auto&) { p[1][59] ^= 1; }));
  CHECK(changed([](auto&, auto& p, auto&) { std::swap(p[0], p[1]); }));
  CHECK_FALSE(changed([](auto&, auto&, auto&) {}));
}

TEST_CASE("the signing input is byte for byte what archived clips were signed over",
          "[voice][security]") {
  // Archives hold clips signed over these bytes: any change here makes their signatures fail.
  voice::ClipFormat format{Bytes(16, 1), Bytes(16, 2), 48000, 20, 24000};
  const Bytes input =
      voice::clip_signing_input(format, 2, voice::encode_packets({Bytes(60, 1), Bytes(60, 2)}));
  CHECK(to_hex(input) ==
        "736f74746f20766f69636520636c6970207631"                            // label
        "0101010101010101010101010101010102020202020202020202020202020202"  // channel, transmission
        "0000bb800000001400005dc000000002"  // rate, frame ms, bitrate, frames
        "ed134c4bef1feb9f5825661489db10bdcffd74ea46b8fd3ede4c51fecf3e6163");  // SHA-256(packets)
}
