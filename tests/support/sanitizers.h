// Whether this test binary runs under a sanitizer, and so the sotto beside it: `make asan` and
// `make tsan` build both with the same flags. A sanitizer changes what /proc shows of a process:
// shadow memory and quarantined frees multiply its resident size, and AddressSanitizer turns
// mlock into a no-op. Tests report such memory figures there instead of asserting them.
#pragma once

namespace sotto::test {

// ThreadSanitizer also slows every memory access 5-15 times: a bound on latency under a flood
// holds there only by luck, so such bounds are reported there too.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kSlowSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kSlowSanitizer = true;
#else
inline constexpr bool kSlowSanitizer = false;
#endif
#else
inline constexpr bool kSlowSanitizer = false;
#endif

// How many times longer a test waits for what a node does (wait_until, control requests,
// daemon output): ThreadSanitizer slows a node 5-15 times, and some paths (a 64 KiB text through
// two nodes in one process) more than 20 times.
inline constexpr int kSlowdown = kSlowSanitizer ? 10 : 1;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace sotto::test
