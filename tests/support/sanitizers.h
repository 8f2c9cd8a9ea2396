// Whether this test binary runs under a sanitizer, and so the sotto beside it: `make asan` and
// `make tsan` build both with the same flags. A sanitizer changes what /proc shows of a process:
// shadow memory and quarantined frees multiply its resident size, and AddressSanitizer turns
// mlock into a no-op. Tests report such memory figures there instead of asserting them.
#pragma once

namespace sotto::test {

// GCC names the sanitizer in a macro; clang answers __has_feature.
#if defined(__has_feature)
#define SOTTO_TEST_HAS_FEATURE(name) __has_feature(name)
#else
#define SOTTO_TEST_HAS_FEATURE(name) 0
#endif
#if defined(__SANITIZE_THREAD__) || SOTTO_TEST_HAS_FEATURE(thread_sanitizer)
#define SOTTO_TEST_TSAN 1
#else
#define SOTTO_TEST_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__) || SOTTO_TEST_HAS_FEATURE(address_sanitizer)
#define SOTTO_TEST_ASAN 1
#else
#define SOTTO_TEST_ASAN 0
#endif

// ThreadSanitizer also slows every memory access 5-15 times: a bound on latency under a flood
// holds there only by luck, so such bounds are reported there too.
inline constexpr bool kSlowSanitizer = SOTTO_TEST_TSAN;

// How many times longer a test waits for what a node does (wait_until, control requests,
// daemon output): ThreadSanitizer slows a node 5-15 times, and some paths (a 64 KiB text through
// two nodes in one process) more than 20 times.
inline constexpr int kSlowdown = kSlowSanitizer ? 10 : 1;

inline constexpr bool kSanitized = SOTTO_TEST_ASAN || SOTTO_TEST_TSAN;

}  // namespace sotto::test
