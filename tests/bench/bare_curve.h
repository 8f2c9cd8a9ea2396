// One bare ZeroMQ DEALER/ROUTER pair with CURVE on loopback, for the `_bare` twins: nothing of
// sotto's transport, only the library and the options any CURVE link needs.
#pragma once

#include <zmq.h>

#include <string>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/crypto/signal_engine.h"

namespace sotto::bench {

struct CurveKeys {
  Bytes public_key;
  SecretBytes secret_key;

  static CurveKeys generate() {
    auto pair = crypto::SignalEngine::generate_curve_key_pair().value();
    return {pair.first, std::move(pair.second)};
  }
};

constexpr int kZmqDefaultHwm = 1000;

// A ROUTER of `ctx` (a ZeroMQ context starts its I/O thread, and so places it, with its first
// socket) as CURVE server on an ephemeral loopback port; `endpoint` receives where it listens.
// `hwm` bounds each queue in messages (0: unbounded).
inline void* bare_curve_router(void* ctx, const CurveKeys& server, std::string& endpoint,
                               int hwm = kZmqDefaultHwm) {
  void* router = zmq_socket(ctx, ZMQ_ROUTER);
  const int one = 1, zero = 0;
  zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
  zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, server.secret_key.data(), 32);
  zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
  zmq_bind(router, "tcp://127.0.0.1:*");
  char last[256];
  size_t size = sizeof last;
  zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, last, &size);
  endpoint = last;
  return router;
}

// A DEALER of `ctx` connected to that router as `client`.
inline void* bare_curve_dealer(void* ctx, const std::string& endpoint, const CurveKeys& server,
                               const CurveKeys& client, int hwm = kZmqDefaultHwm) {
  void* dealer = zmq_socket(ctx, ZMQ_DEALER);
  const int zero = 0;
  zmq_setsockopt(dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(dealer, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, server.public_key.data(), 32);
  zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, client.public_key.data(), 32);
  zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, client.secret_key.data(), 32);
  zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
  zmq_connect(dealer, endpoint.c_str());
  return dealer;
}

}  // namespace sotto::bench
