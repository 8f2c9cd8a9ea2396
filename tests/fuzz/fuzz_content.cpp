// libFuzzer target for the Content codec, the plaintext a peer's Signal message decrypts to
// (check_content in tests/support/fuzz_targets.h). Seeds in tests/fuzz/corpus/content are one
// padded Content per body type.
#include "tests/support/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sotto::test::run_fuzz_input("content", sotto::test::check_content, data, size);
}
