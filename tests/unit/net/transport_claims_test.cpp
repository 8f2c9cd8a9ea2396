// The ZAP allow-list as claims: a beacon can name any key, so two identities may claim one, and
// one identity withdrawing its claim (its key changed, or it was evicted) must not cut off the
// other (issue 21, item 3).
#include <catch2/catch.hpp>
#include <memory>
#include <utility>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/net/poller.h"
#include "sotto/net/transport.h"
#include "sotto/net/zmq_socket.h"

using namespace sotto;

namespace {

// A context and poller, and one key pair for every transport made on them.
struct Host {
  net::ZmqContext context;
  net::Poller poller;
  std::pair<Bytes, SecretBytes> keys;

  Host() {
    auto made = crypto::SignalEngine::generate_curve_key_pair();
    REQUIRE(made.is_ok());
    keys = std::move(made).value();
  }
  Result<std::unique_ptr<net::Transport>> transport() {
    return net::Transport::create(context, poller, net::TransportOptions{}, keys.first, keys.second,
                                  {});
  }
};

}  // namespace

TEST_CASE("a transport key stays admitted while any identity claims it; each revokes only its own",
          "[net][transport][security]") {
  Host host;
  auto transport = host.transport();
  REQUIRE(transport.is_ok());
  net::Transport& t = *transport.value();
  const Bytes victim_key = crypto::random_bytes(32);

  t.admit(victim_key, "victim");
  t.admit(victim_key, "mallory");   // Mallory's beacon names the victim's key
  t.revoke(victim_key, "mallory");  // ...then she moves on to a key of her own
  CHECK(t.admitted(victim_key));    // the victim is not cut off
  t.revoke(victim_key, "mallory");  // again: still nothing of the victim's is touched
  CHECK(t.admitted(victim_key));
  t.revoke(victim_key, "victim");
  CHECK_FALSE(t.admitted(victim_key));
}

// A node whose ephemeral TCP port is taken for UDP (the unicast beacon socket needs the same
// number) drops its transport and makes another on the same context at once. libzmq closes a
// socket on its reaper thread, so the first ZAP handler's inproc name could still be bound.
TEST_CASE("a transport made again at once on the same context binds its ZAP handler",
          "[net][transport]") {
  Host host;
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto transport = host.transport();
    INFO("attempt " << attempt);
    REQUIRE(transport.is_ok());
  }
}
