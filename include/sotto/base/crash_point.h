// Crash points: named places on the 1:1 text paths where a fault-injection test may end the
// process, to show that doc/guide.md, Text holds across a kill -9 at exactly the worst moments.
//
// Production never arms them: crash_point() calls a handler that is null unless a test installed
// one with set_crash_handler(), which only the test binary does (tests/support/crash_points.h,
// `sotto-tests --as-sotto`). Disarmed, a crash point costs one relaxed atomic load.
// Thread-safety: both calls may come from any thread.
#pragma once

#include <atomic>

namespace sotto {

enum class CrashPoint {
  kAfterDecryptBeforeCommit,  // receiver: a message decrypted, its transaction not committed
  kAfterCommitBeforeReceipt,  // receiver: committed, the receipts not yet sent
  kAfterEncryptBeforeCommit,  // sender: a message encrypted, its transaction not committed
  kAfterCommitBeforeSend,     // sender: committed into the outbox, nothing transmitted yet
  kMailboxForwarded,          // mailbox: a held frame handed to its user, none yet taken back
};

using CrashHandler = void (*)(CrashPoint);

namespace detail {
extern std::atomic<CrashHandler> g_crash_handler;
}  // namespace detail

inline void crash_point(CrashPoint point) {
  if (CrashHandler handler = detail::g_crash_handler.load(std::memory_order_relaxed)) {
    handler(point);
  }
}

// Installs `handler` (nullptr disarms). For tests only.
void set_crash_handler(CrashHandler handler);

}  // namespace sotto
