// libFuzzer target for received voice: the clip packet codec, and a listening VoiceEngine fed the
// frames a script in the input describes (check_voice_frame in tests/support/fuzz_targets.h).
// Seeds in tests/fuzz/corpus/voice_frame are transmissions of real Opus packets.
#include "tests/support/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return sotto::test::run_fuzz_input("voice_frame", sotto::test::check_voice_frame, data, size);
}
