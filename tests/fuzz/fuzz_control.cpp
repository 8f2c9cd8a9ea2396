// libFuzzer target for the control socket's JSON requests, sent to a real ControlServer on an ipc
// socket (check_control in tests/support/fuzz_targets.h). Seeds in tests/fuzz/corpus/control are
// the commands the test server answers.
#include "tests/support/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sotto::test::run_fuzz_input("control", sotto::test::check_control, data, size);
}
