// Waiting for a condition with a deadline, instead of sleeping a fixed time.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

#include "tests/support/sanitizers.h"

namespace sotto::test {

// Polls `condition` every few milliseconds until it holds (true) or `deadline` passes (false).
// Under ThreadSanitizer the deadline is kSlowdown times as long.
inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline * kSlowdown;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace sotto::test
