// The checks behind the libFuzzer targets (tests/fuzz/fuzz_<name>.cpp), shared with the Catch2
// test that replays the checked-in corpus (tests/unit/fuzz_corpus_test.cpp), so `make test` runs
// every seed and every input that once crashed through exactly the code the fuzzer ran.
//
// A check feeds one input to a parser of untrusted bytes the way the node does and then tests
// what must hold for every input: no crash or sanitizer report (the process itself is the judge
// of that), and for an input the parser accepts, the invariants in `broken` (an accepted input
// encodes back to itself, a voice packet heard is the packet sealed, ...).
//
// Targets (corpus directory = name):
//   beacon       decode_beacon and BeaconSealer::open (network key kFuzzNetworkKey)
//   envelope     decode_frame: a whole TCP frame
//   content      decode_content: the plaintext of a 1:1 or sender-key message
//   control      a request on the control socket: a real ControlServer on an ipc socket
//   voice_frame  decode_packets (the clip codec), then a VoiceEngine listening to one
//                transmission that the input scripts frame by frame (see fuzz_targets.cpp)
//   channel      a received ChannelUpdate: parse, open_channel_update (roster checks and the
//                admin's signature), and the same roster signed by kFuzzAdmin (a hostile admin)
//
// Thread-safety: one thread; the control and voice targets keep process-wide state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/bytes.h"

namespace sotto::test {

struct FuzzResult {
  bool accepted = false;  // the parser took the input (and its round trip was checked)
  std::string broken;     // empty, or the invariant this input broke
};

using FuzzCheck = FuzzResult (*)(ByteView input);

struct FuzzTarget {
  std::string_view name;
  FuzzCheck check;
};

FuzzResult check_beacon(ByteView input);
FuzzResult check_envelope(ByteView input);
FuzzResult check_content(ByteView input);
FuzzResult check_control(ByteView input);
FuzzResult check_voice_frame(ByteView input);
FuzzResult check_channel(ByteView input);

// Every target above, by corpus name.
const std::vector<FuzzTarget>& fuzz_targets();

// The body of LLVMFuzzerTestOneInput: runs `check` and aborts (so libFuzzer keeps the input)
// when it reports a broken invariant.
int run_fuzz_input(std::string_view target, FuzzCheck check, const uint8_t* data, size_t size);

struct FuzzSeed {
  std::string target;
  std::string name;  // file name in tests/fuzz/corpus/<target>/
  Bytes input;
};

// Valid inputs for the targets added after beacon and envelope, built with the real encoders.
// Written to tests/fuzz/corpus/ by the hidden test "[.fuzz-seeds]"; the corpus test checks that
// each is still checked in as built and still accepted.
std::vector<FuzzSeed> fuzz_seeds();

}  // namespace sotto::test
