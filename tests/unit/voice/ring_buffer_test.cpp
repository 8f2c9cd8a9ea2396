#include <catch2/catch.hpp>
#include <random>
#include <thread>
#include <type_traits>
#include <vector>

#include "sotto/voice/ring_buffer.h"

using namespace sotto::voice;

static_assert(!std::is_copy_constructible_v<RingBuffer>);

TEST_CASE("the ring rounds its capacity up, fills up and wraps around", "[voice][ring]") {
  RingBuffer ring(1000);
  CHECK(ring.capacity() == 1024);
  CHECK(ring.readable() == 0);
  CHECK(ring.writable() == 1024);

  std::vector<int16_t> in(1500);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int16_t>(i);
  CHECK(ring.push(in) == 1024);  // only what fits
  CHECK(ring.writable() == 0);
  CHECK(ring.push(in) == 0);

  std::vector<int16_t> out(700);
  CHECK(ring.pop(out) == 700);
  CHECK(out == std::vector<int16_t>(in.begin(), in.begin() + 700));
  // The next push wraps past the end of storage.
  CHECK(ring.push(std::span(in).subspan(1024, 476)) == 476);
  std::vector<int16_t> rest(2000);
  CHECK(ring.pop(rest) == 800);
  rest.resize(800);
  CHECK(rest == std::vector<int16_t>(in.begin() + 700, in.end()));
  CHECK(ring.pop(rest) == 0);
}

TEST_CASE("one producer and one consumer thread move every sample once and in order",
          "[voice][ring]") {
  RingBuffer ring(4096);
  constexpr uint32_t kSamples = 4'000'000;
  std::thread producer([&] {
    std::mt19937 rng(1);
    std::uniform_int_distribution<size_t> chunk(1, 1500);
    std::vector<int16_t> buf(1500);
    uint32_t next = 0;
    while (next < kSamples) {
      const size_t n = std::min<size_t>(chunk(rng), kSamples - next);
      for (size_t i = 0; i < n; ++i) buf[i] = static_cast<int16_t>((next + i) * 2654435761u >> 16);
      size_t done = 0;
      while (done < n) {
        const size_t pushed = ring.push(std::span(buf).subspan(done, n - done));
        if (pushed == 0) std::this_thread::yield();
        done += pushed;
      }
      next += static_cast<uint32_t>(n);
    }
  });
  std::mt19937 rng(2);
  std::uniform_int_distribution<size_t> chunk(1, 1500);
  std::vector<int16_t> buf(1500);
  uint32_t expected = 0;
  uint32_t mismatches = 0;
  while (expected < kSamples) {
    const size_t n = ring.pop(std::span(buf).first(chunk(rng)));
    if (n == 0) std::this_thread::yield();
    for (size_t i = 0; i < n; ++i, ++expected) {
      if (buf[i] != static_cast<int16_t>(expected * 2654435761u >> 16)) ++mismatches;
    }
  }
  producer.join();
  CHECK(mismatches == 0);
  CHECK(expected == kSamples);
  CHECK(ring.readable() == 0);
}
