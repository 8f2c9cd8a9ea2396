// RingBuffer: a lock-free single-producer / single-consumer ring of int16 samples, the only thing
// shared between an audio device callback and the rest of sotto.
//
// push() and pop() never allocate, lock or make system calls, so they are safe in a real-time
// audio callback; both move as many samples as fit and return the count. Storage is allocated once
// in the constructor; the capacity is rounded up to a power of two so indices wrap with a mask.
// Sizing: the ring must absorb the largest gap between the two sides' wake-ups, e.g. 8 frames of
// 20 ms = 7680 samples at 48 kHz.
//
// Thread-safety: exactly one thread may call push() and exactly one (other) thread pop(); the
// read-only queries may be called from either. Indices are free-running 64-bit counters (no
// wraparound in practice: 2^64 samples at 48 kHz is millions of years), published with
// release/acquire so the samples written before an index store are visible after its load.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sotto::voice {

class RingBuffer {
 public:
  // REQUIRES: min_capacity > 0.
  explicit RingBuffer(size_t min_capacity) : samples_(round_up_pow2(min_capacity)) {
    mask_ = samples_.size() - 1;
  }
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;

  // Producer side: appends up to in.size() samples; returns how many were appended.
  size_t push(std::span<const int16_t> in) {
    const uint64_t write = write_.load(std::memory_order_relaxed);  // only we store it
    const uint64_t read = read_.load(std::memory_order_acquire);
    const size_t n = std::min(in.size(), capacity() - static_cast<size_t>(write - read));
    copy_in(write, in.first(n));
    write_.store(write + n, std::memory_order_release);
    return n;
  }

  // Consumer side: takes up to out.size() samples; returns how many were taken.
  size_t pop(std::span<int16_t> out) {
    const uint64_t read = read_.load(std::memory_order_relaxed);  // only we store it
    const uint64_t write = write_.load(std::memory_order_acquire);
    const size_t n = std::min(out.size(), static_cast<size_t>(write - read));
    copy_out(read, out.first(n));
    read_.store(read + n, std::memory_order_release);
    return n;
  }

  // Samples ready for pop(); exact on the consumer thread, a lower bound elsewhere.
  size_t readable() const {
    return static_cast<size_t>(write_.load(std::memory_order_acquire) -
                               read_.load(std::memory_order_acquire));
  }
  // Room for push(); exact on the producer thread, a lower bound elsewhere.
  size_t writable() const { return capacity() - readable(); }
  size_t capacity() const { return samples_.size(); }

 private:
  static size_t round_up_pow2(size_t n) {
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }
  // The ring is at most two contiguous runs: up to the end of storage, then from its start.
  void copy_in(uint64_t at, std::span<const int16_t> in) {
    const size_t start = static_cast<size_t>(at) & mask_;
    const size_t first = std::min(in.size(), samples_.size() - start);
    std::copy_n(in.begin(), first, samples_.begin() + static_cast<std::ptrdiff_t>(start));
    std::copy(in.begin() + static_cast<std::ptrdiff_t>(first), in.end(), samples_.begin());
  }
  void copy_out(uint64_t at, std::span<int16_t> out) const {
    const size_t start = static_cast<size_t>(at) & mask_;
    const size_t first = std::min(out.size(), samples_.size() - start);
    const auto from = samples_.begin() + static_cast<std::ptrdiff_t>(start);
    std::copy_n(from, first, out.begin());
    std::copy_n(samples_.begin(), out.size() - first,
                out.begin() + static_cast<std::ptrdiff_t>(first));
  }

  static_assert(std::atomic<uint64_t>::is_always_lock_free, "the audio callback must not lock");

  std::vector<int16_t> samples_;
  size_t mask_ = 0;
  // On separate cache lines so producer and consumer do not invalidate each other's line.
  alignas(64) std::atomic<uint64_t> write_{0};
  alignas(64) std::atomic<uint64_t> read_{0};
};

}  // namespace sotto::voice
