// Fan-out to a channel of 250 (issue 23, item 5): one pass of sends to every member's link never
// waits for a member, and a member that stops reading loses only its own frames, at its link's
// high-water mark, each one counted. The members are real CURVE servers on loopback; 250 of them
// never read, one reads everything.
#include <zmq.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "sotto/crypto/primitives.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/net/poller.h"
#include "sotto/net/transport.h"
#include "sotto/net/zmq_socket.h"

using namespace sotto;
using Steady = std::chrono::steady_clock;

namespace {

constexpr int kSlowMembers = 250;
constexpr int kSendHwm = 16;
constexpr size_t kFrameBytes = 1024;  // a text; a voice frame is ~100 bytes
constexpr int kSendBuffer = 16 * 1024;

// A channel member's inbox: a CURVE server (every client admitted: no ZAP handler in its
// context) whose socket queue holds one message and whose kernel buffer is small, so a member
// that never reads pushes back on the sender after a few frames.
struct Member {
  std::string fingerprint;
  Bytes key;
  std::string endpoint;
  net::ZmqSocket inbox;
  uint64_t refused = 0;  // sends to it the transport refused
};

Member make_member(net::ZmqContext& context, const std::string& fingerprint, bool reads) {
  auto keys = crypto::SignalEngine::generate_curve_key_pair();
  REQUIRE(keys.is_ok());
  Member member{fingerprint, keys.value().first, "",
                net::ZmqSocket::create(context, ZMQ_ROUTER).value()};
  REQUIRE(member.inbox.set(ZMQ_CURVE_SERVER, 1).is_ok());
  REQUIRE(member.inbox.set(ZMQ_CURVE_SECRETKEY, keys.value().second.view()).is_ok());
  if (!reads) {
    REQUIRE(member.inbox.set(ZMQ_RCVHWM, 1).is_ok());
    REQUIRE(member.inbox.set(ZMQ_RCVBUF, 4096).is_ok());
  }
  REQUIRE(member.inbox.bind("tcp://127.0.0.1:*").is_ok());
  member.endpoint = member.inbox.get_string(ZMQ_LAST_ENDPOINT).value();
  return member;
}

}  // namespace

TEST_CASE(
    "a frame to 250 members goes out in one pass that never waits; a member that stops "
    "reading loses only its own frames, counted",
    "[net][transport][scale]") {
  net::ZmqContext members_context;
  std::vector<Member> members;
  for (int i = 0; i <= kSlowMembers; ++i) {
    members.push_back(
        make_member(members_context, "member-" + std::to_string(i), i == kSlowMembers));
  }
  Member& reader = members.back();  // the one that reads

  net::ZmqContext context;
  net::Poller poller;
  auto keys = crypto::SignalEngine::generate_curve_key_pair();
  REQUIRE(keys.is_ok());
  net::TransportOptions options;
  options.send_hwm = kSendHwm;
  options.link_send_buffer_bytes = kSendBuffer;
  size_t handshakes = 0;
  net::Transport::Callbacks callbacks;
  callbacks.on_link = [&](const std::string&, net::LinkEvent event) {
    if (event == net::LinkEvent::kHandshakeSucceeded) ++handshakes;
  };
  auto created = net::Transport::create(context, poller, options, keys.value().first,
                                        keys.value().second, callbacks);
  REQUIRE(created.is_ok());
  net::Transport& transport = *created.value();
  for (Member& m : members) REQUIRE(transport.connect(m.fingerprint, m.endpoint, m.key).is_ok());
  const Steady::time_point deadline = Steady::now() + std::chrono::seconds(30);
  while (handshakes < members.size() && Steady::now() < deadline) (void)poller.poll(50);
  REQUIRE(handshakes == members.size());
  CHECK(transport.links_open() == members.size());

  const Bytes frame = crypto::random_bytes(kFrameBytes);
  uint64_t read = 0;
  auto drain_reader = [&] {
    while (auto message = reader.inbox.receive_message(2).value()) {
      if (message->size() == 2) ++read;
    }
  };
  // Enough passes for every slow member's link to fill (16 frames queued, ZeroMQ's 8 KiB batch,
  // 16 KiB and 4 KiB of kernel buffers at the two ends: ~45 frames) and then refuse frames for
  // a good while.
  constexpr int kPasses = 400;
  Steady::duration slowest_pass{};
  uint64_t sent_to_reader = 0;
  for (int pass = 0; pass < kPasses; ++pass) {
    const Steady::time_point began = Steady::now();
    for (Member& m : members) {
      if (!transport.send(m.fingerprint, frame).is_ok()) {
        ++m.refused;
      } else if (&m == &reader) {
        ++sent_to_reader;
      }
    }
    slowest_pass = std::max(slowest_pass, Steady::now() - began);
    (void)poller.poll(0);
    // The reader keeps up between passes, as a live listener does.
    const Steady::time_point give_up = Steady::now() + std::chrono::seconds(2);
    while (read < sent_to_reader && Steady::now() < give_up) {
      drain_reader();
      if (read < sent_to_reader) std::this_thread::yield();
    }
  }
  const Steady::time_point wait_for_reader = Steady::now() + std::chrono::seconds(10);
  while (read < sent_to_reader && Steady::now() < wait_for_reader) drain_reader();

  // Queuing 251 frames is a few microseconds each; a pass that waited for any member would take
  // as long as that member takes to read, which here is for ever. The bound leaves room for a
  // machine shared with other work.
  const auto slowest_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(slowest_pass).count();
  INFO("slowest pass " << slowest_ms << " ms");
  CHECK(slowest_ms < 1000);
  // The reader lost nothing, and every frame it was sent arrived.
  CHECK(reader.refused == 0);
  CHECK(read == kPasses);
  // Every member that never read lost frames, at its own link's limit.
  uint64_t refused = reader.refused;
  for (int i = 0; i < kSlowMembers; ++i) {
    INFO(members[i].fingerprint);
    CHECK(members[i].refused > 0);
    CHECK(members[i].refused < kPasses);  // it took frames until its link was full
    refused += members[i].refused;
  }
  CHECK(transport.stats().send_dropped == refused);
}
