// libFuzzer target for the frame codec: decode_frame on arbitrary bytes. It may not crash, and
// an Envelope it accepts must survive encode_frame and decode_frame again unchanged: the node
// re-frames what it relays, so what it accepts it must be able to send. Seeds in
// tests/fuzz/corpus/envelope are one valid frame per body type.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "sotto/net/wire.h"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_envelope: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto envelope = sotto::net::decode_frame(sotto::ByteView(data, size));
  if (!envelope.is_ok()) return 0;
  auto frame = sotto::net::encode_frame(envelope.value());
  if (!frame.is_ok()) fail("an accepted envelope does not encode");
  auto again = sotto::net::decode_frame(frame.value());
  if (!again.is_ok()) fail("a re-encoded envelope does not decode");
  if (again->SerializeAsString() != envelope->SerializeAsString()) {
    fail("a re-encoded envelope decodes to something else");
  }
  return 0;
}
