// libFuzzer target for the discovery beacon parsers: decode_beacon and BeaconSealer::open on
// arbitrary bytes. Neither may crash; a beacon that decodes must encode back to the same bytes
// (one beacon, one encoding). Seeds in tests/fuzz/corpus/beacon are plain beacons and beacons
// sealed with kFuzzNetworkKey, so the fuzzer starts from inputs that pass every check.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sotto/net/beacon.h"

namespace {

constexpr std::string_view kFuzzNetworkKey = "sotto fuzz network key\n";

void check_beacon(sotto::ByteView data) {
  auto beacon = sotto::net::decode_beacon(data);
  if (!beacon.is_ok()) return;
  const sotto::Bytes again = sotto::net::encode_beacon(beacon.value());
  if (again.size() != data.size() || !std::equal(again.begin(), again.end(), data.begin())) {
    std::fprintf(stderr, "fuzz_beacon: a decoded beacon does not encode to the same bytes\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sotto::net::BeaconSealer sealer =
      sotto::net::BeaconSealer::from_secret(sotto::as_bytes(kFuzzNetworkKey));
  const sotto::ByteView input(data, size);
  check_beacon(input);
  auto opened = sealer.open(input);
  if (opened.is_ok()) check_beacon(opened.value());
  return 0;
}
