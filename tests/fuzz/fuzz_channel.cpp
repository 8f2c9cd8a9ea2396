// libFuzzer target for a received channel membership change: ChannelUpdate parsing, roster checks
// and the admin's signature (check_channel in tests/support/fuzz_targets.h). Seeds in
// tests/fuzz/corpus/channel are rosters signed by the fuzz admin.
#include "tests/support/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sotto::test::run_fuzz_input("channel", sotto::test::check_channel, data, size);
}
