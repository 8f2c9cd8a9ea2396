// Clock: monotonic time for timers and liveness, injectable so tests can drive time by hand.
// Never used for security decisions that must survive clock drift; wall time is only shown.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sotto {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds on a monotonic clock with an arbitrary origin: timers, liveness, pacing.
  virtual int64_t now_ms() const = 0;
  // Microseconds since the epoch on the wall clock, for timestamps people read. Never for an
  // ordering or a security decision: air-gapped clocks drift, and a peer's is whatever it says.
  virtual int64_t wall_us() const = 0;
  int64_t wall_ms() const { return wall_us() / 1000; }
};

// The machine's clocks: steady for now_ms, the system clock for wall time.
class SteadyClock final : public Clock {
 public:
  int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t wall_us() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// The machine's clocks, for the entry points that build everything else (a program's main, the
// offline commands); everything below them is handed a Clock.
inline const Clock& machine_clock() {
  static const SteadyClock clock;
  return clock;
}

// Time that moves only when told to; the wall clock moves with it from a fixed date. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'000'000) : now_(start_ms), start_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  int64_t wall_us() const override { return (kWallOriginMs + now_.load() - start_) * 1000; }
  void advance_ms(int64_t ms) { now_ += ms; }

 private:
  static constexpr int64_t kWallOriginMs = 1'790'000'000'000;  // 2026-09-21, any fixed day
  std::atomic<int64_t> now_;
  const int64_t start_;
};

}  // namespace sotto
