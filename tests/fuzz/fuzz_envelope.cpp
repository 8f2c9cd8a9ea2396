// libFuzzer target for the frame codec (check_envelope in tests/support/fuzz_targets.h). Seeds in
// tests/fuzz/corpus/envelope are one valid frame per body type.
#include "tests/support/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sotto::test::run_fuzz_input("envelope", sotto::test::check_envelope, data, size);
}
