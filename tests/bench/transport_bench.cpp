// transport_roundtrip_us: a request of 100 bytes of text and its reply between two sotto
// transports (the wire codec included: frame encode, padding to its size bucket, decode), each
// side on its own thread like two nodes. transport_roundtrip_us_bare: the same over one bare
// ZeroMQ DEALER/ROUTER pair with CURVE, carrying messages of the same size as sotto's padded
// frame (not the 100 bytes inside it: CURVE's cost grows with what it encrypts).
// Both: kWarmup round trips (CURVE handshake, TCP slow start, caches), then the median over
// kBatches batches of the mean round trip in each batch.
//
// Each side is pinned to its own CPU, like two nodes on two hosts: the requesting thread and its
// ZeroMQ I/O thread on one, the replying thread and its I/O thread on the other (a ZeroMQ
// context starts its I/O thread with its first socket, which inherits the creating thread's
// CPU set). Unpinned, the scheduler's placement of these four threads on this 2-vCPU machine
// moved both figures between ~100 and ~350 us from one run to the next.
#include <pthread.h>
#include <sched.h>
#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include "sotto/crypto/signal_engine.h"
#include "sotto/net/transport.h"
#include "src/net/wire.h"
#include "tests/bench/bare_curve.h"
#include "tests/bench/bench.h"

namespace sotto::bench {
namespace {

constexpr int kWarmup = 500;
constexpr int kBatches = 7;
constexpr int kPerBatch = 1000;

Bytes request_frame(uint64_t seq) {
  wire::Envelope envelope;
  auto* signal = envelope.mutable_signal();
  signal->set_type(2);
  signal->set_body(std::string(100, static_cast<char>(seq)));
  return net::encode_frame(std::move(envelope)).value();
}

// Pins the calling thread to CPU `cpu` for its lifetime (when the machine has that CPU) and
// restores the thread's CPU set when it ends.
class PinnedTo {
 public:
  explicit PinnedTo(int cpu) {
    pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_);
    if (cpu >= CPU_COUNT(&saved_) && cpu > 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pinned_ = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
  }
  ~PinnedTo() {
    if (pinned_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  }
  PinnedTo(const PinnedTo&) = delete;
  PinnedTo& operator=(const PinnedTo&) = delete;

 private:
  cpu_set_t saved_;
  bool pinned_ = false;
};

// Mean microseconds per call of `round_trip`, as the median over kBatches batches.
double median_batch_us(const std::function<void(int)>& round_trip) {
  for (int i = 0; i < kWarmup; ++i) round_trip(i);
  std::vector<double> batches;
  for (int b = 0; b < kBatches; ++b) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kPerBatch; ++i) round_trip(i);
    batches.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count() /
        kPerBatch);
  }
  std::sort(batches.begin(), batches.end());
  return batches[batches.size() / 2];
}

}  // namespace

double transport_roundtrip_us() {
  CurveKeys a = CurveKeys::generate();
  CurveKeys b = CurveKeys::generate();
  net::ZmqContext ctx_a, ctx_b;
  net::Poller poller_a, poller_b;
  std::atomic<int> replies{0};
  std::unique_ptr<net::Transport> ta, tb;
  net::Transport::Callbacks cb_a;
  cb_a.on_frame = [&](const Bytes&, Bytes frame) {
    if (net::decode_frame(frame).is_ok()) ++replies;
  };
  net::Transport::Callbacks cb_b;
  // Frames come from `a`'s key, the only client: the reply goes down the link to "a".
  cb_b.on_frame = [&](const Bytes&, Bytes frame) {
    auto envelope = net::decode_frame(frame);
    if (!envelope.is_ok()) return;
    auto reply = net::encode_frame(std::move(envelope).value());
    (void)tb->send("a", reply.value());
  };
  net::TransportOptions options;
  PinnedTo client_side(0);
  {
    PinnedTo server_side(1);
    tb = net::Transport::create(ctx_b, poller_b, options, b.public_key, b.secret_key, cb_b).value();
  }
  ta = net::Transport::create(ctx_a, poller_a, options, a.public_key, a.secret_key, cb_a).value();
  ta->admit(b.public_key, "b");
  tb->admit(a.public_key, "a");
  (void)ta->connect("b", tb->endpoint(), b.public_key);
  (void)tb->connect("a", ta->endpoint(), a.public_key);

  std::atomic<bool> stop{false};
  std::thread server([&] {
    PinnedTo server_side(1);
    while (!stop) (void)poller_b.poll(10);
  });
  auto round_trip = [&](int i) {
    const int want = replies.load() + 1;
    (void)ta->send("b", request_frame(static_cast<uint64_t>(i)));
    while (replies.load() < want) (void)poller_a.poll(100);
  };
  const double us = median_batch_us(round_trip);
  stop = true;
  server.join();
  return us;
}

double transport_roundtrip_us_bare() {
  const CurveKeys server_keys = CurveKeys::generate();
  const CurveKeys client_keys = CurveKeys::generate();
  void* ctx_s = zmq_ctx_new();
  void* ctx_c = zmq_ctx_new();
  PinnedTo client_side(0);
  std::string endpoint;
  void* router = nullptr;
  {
    PinnedTo server_side(1);
    router = bare_curve_router(ctx_s, server_keys, endpoint);
  }
  void* dealer = bare_curve_dealer(ctx_c, endpoint, server_keys, client_keys);

  std::atomic<bool> stop{false};
  std::thread server([&] {
    PinnedTo server_side(1);
    zmq_pollitem_t item{router, 0, ZMQ_POLLIN, 0};
    char id[256], body[4096];
    while (!stop) {
      if (zmq_poll(&item, 1, 10) <= 0) continue;
      int id_size = zmq_recv(router, id, sizeof id, 0);
      int body_size = zmq_recv(router, body, sizeof body, 0);
      zmq_send(router, id, static_cast<size_t>(id_size), ZMQ_SNDMORE);
      zmq_send(router, body, static_cast<size_t>(body_size), 0);
    }
  });
  const Bytes request = request_frame(0);
  char reply[4096];
  auto round_trip = [&](int) {
    zmq_send(dealer, request.data(), request.size(), 0);
    zmq_recv(dealer, reply, sizeof reply, 0);
  };
  const double us = median_batch_us(round_trip);
  stop = true;
  server.join();
  zmq_close(dealer);
  zmq_close(router);
  zmq_ctx_term(ctx_c);
  zmq_ctx_term(ctx_s);
  return us;
}

}  // namespace sotto::bench
