#include "sotto/base/crash_point.h"

namespace sotto {

namespace detail {
std::atomic<CrashHandler> g_crash_handler{nullptr};
}  // namespace detail

void set_crash_handler(CrashHandler handler) {
  detail::g_crash_handler.store(handler, std::memory_order_relaxed);
}

}  // namespace sotto
