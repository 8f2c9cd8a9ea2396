// What one received beacon costs a node (issue 23's projection in doc/performance.md): every
// beacon is signed afresh (its send time and challenge change), so each one a node hears needs a
// signature check; the projection multiplies this by the beacons a node hears per second.
//
//   beacon_check_us   net::decode_beacon of a signed v2 beacon, its XEdDSA signature checked:
//                     this thread's CPU time, the median of 5 passes of 2,000 beacons (each
//                     from one of 64 identities, as a LAN's would be).
//   beacon_sign_us    net::sign_beacon, what a node pays per beacon it sends.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/net/beacon.h"
#include "tests/bench/bench.h"

namespace sotto::bench {
namespace {

constexpr int kIdentities = 64;
constexpr int kBeacons = 2000;
constexpr int kPasses = 5;

int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::unique_ptr<crypto::SignalEngine> identity() {
  auto generated = crypto::SignalEngine::generate_identity();
  if (!generated.is_ok()) return nullptr;
  auto engine = crypto::SignalEngine::create(std::move(generated).value(),
                                             crypto::make_memory_signal_state());
  return engine.is_ok() ? std::move(engine).value() : nullptr;
}

net::Beacon unsigned_beacon(uint64_t sent_at_ms) {
  net::Beacon beacon;
  beacon.port = 47001;
  beacon.transport_key = crypto::random_bytes(net::kBeaconTransportKeySize);
  beacon.interval_ms = 10'000;
  beacon.sent_at_ms = sent_at_ms;
  beacon.nonce = sent_at_ms * 7919;
  return beacon;
}

struct BeaconFigures {
  double check_us = NAN;
  double sign_us = NAN;
};

BeaconFigures measure() {
  BeaconFigures figures;
  std::vector<std::unique_ptr<crypto::SignalEngine>> engines;
  for (int i = 0; i < kIdentities; ++i) {
    engines.push_back(identity());
    if (!engines.back()) {
      unavailable("beacon: cannot make an identity");
      return figures;
    }
  }
  std::vector<Bytes> encoded;
  encoded.reserve(kBeacons);
  const int64_t sign_start = thread_cpu_ns();
  for (int i = 0; i < kBeacons; ++i) {
    auto beacon = net::sign_beacon(unsigned_beacon(static_cast<uint64_t>(i) + 1),
                                   *engines[static_cast<size_t>(i % kIdentities)]);
    if (!beacon.is_ok()) {
      unavailable("beacon: signing failed: " + beacon.status().message());
      return figures;
    }
    encoded.push_back(net::encode_beacon(beacon.value()));
  }
  figures.sign_us = static_cast<double>(thread_cpu_ns() - sign_start) / kBeacons / 1000.0;
  std::vector<double> passes;
  for (int pass = 0; pass < kPasses; ++pass) {
    const int64_t start = thread_cpu_ns();
    for (const Bytes& bytes : encoded) {
      if (!net::decode_beacon(bytes).is_ok()) {
        unavailable("beacon: a signed beacon did not verify");
        return figures;
      }
    }
    passes.push_back(static_cast<double>(thread_cpu_ns() - start) / kBeacons / 1000.0);
  }
  std::sort(passes.begin(), passes.end());
  figures.check_us = passes[passes.size() / 2];
  return figures;
}

const BeaconFigures& figures() {
  static const BeaconFigures measured = measure();
  return measured;
}

}  // namespace

double beacon_check_us() {
  return figures().check_us;
}
double beacon_sign_us() {
  return figures().sign_us;
}

}  // namespace sotto::bench
