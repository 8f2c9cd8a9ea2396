// libFuzzer target for the discovery beacon parsers (check_beacon in
// tests/support/fuzz_targets.h). Seeds in tests/fuzz/corpus/beacon are plain beacons and beacons
// sealed with the fuzz network key, so the fuzzer starts from inputs that pass every check.
#include "tests/support/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sotto::test::run_fuzz_input("beacon", sotto::test::check_beacon, data, size);
}
