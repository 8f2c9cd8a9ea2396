// promise 4 with the real binary: "a message shown as delivered is committed in the
// receiver's archive exactly once, across crashes (kill -9) and restarts", and nothing the
// sender acknowledged is lost. Alice's daemon is flooded through its control socket (as `sotto
// send` would do, minus a process per text); one daemon is SIGKILLed at a moment drawn from the
// test run's seed (tests/run.sh --rng-seed), then started again on the same profile.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "tests/support/daemon.h"
#include "tests/support/flood.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace std::chrono_literals;
using nlohmann::json;
using namespace sotto::test;

namespace {

// How many texts each flood sends: 5,000 take ~5 s to send on 2 vCPUs (the tests WARN timings).
constexpr int kFloodCount = 5000;

}  // namespace

TEST_CASE(
    "a receiver SIGKILLed mid-flood and restarted ends with every text archived exactly "
    "once, and only committed texts were ever shown delivered",
    "[messaging][crash][integration]") {
  std::mt19937 rng(Catch::rngSeed());
  const int kill_at = std::uniform_int_distribution<int>(kFloodCount / 4, kFloodCount * 3 / 5)(rng);
  INFO("seed " << Catch::rngSeed() << ": bob is killed after " << kill_at << " acknowledged sends");
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  connect_pair(alice, bob);

  // Bob keeps up with a flood one request at a time, so he would mostly die idle. Instead he is
  // frozen (SIGSTOP) for the last kBacklog sends before the kill and thawed; once Alice has
  // the receipts of his first commit of that backlog, he is killed a seeded 0-60 ms later, while
  // he works through the rest (measured here: a commit of up to 256 texts every ~25 ms). The
  // kill lands anywhere in his receive path: before, inside or after a commit, before or after
  // the receipts went out.
  constexpr int kBacklog = 1000;
  const auto jitter = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 60000)(rng));
  INFO("and " << jitter.count() << " us into a backlog of " << kBacklog);
  const auto start = std::chrono::steady_clock::now();
  std::set<std::string> delivered_at_kill;
  std::map<std::string, int> bob_at_kill;
  auto receipts = [&] { return alice.stats().value("receipts_received", uint64_t{0}); };
  bool backlog_started = false;
  auto result = flood(alice, "bob", 0, kFloodCount, nullptr, [&](int i) {
    if (i + 1 == kill_at - kBacklog) ::kill(bob.pid(), SIGSTOP);
    if (i + 1 != kill_at) return;
    ::kill(bob.pid(), SIGCONT);
    // A receipt for a text of the backlog: Bob has committed the first part of it.
    backlog_started =
        wait_until([&] { return receipts() > static_cast<uint64_t>(kill_at - kBacklog); }, 5s);
    std::this_thread::sleep_for(jitter);
    bob.stop(SIGKILL);
    for (const auto& [text, state] : outgoing_states(alice.history())) {
      if (state == "delivered") delivered_at_kill.insert(text);
    }
    bob_at_kill = incoming_counts(bob.history());  // offline: the database as the crash left it
  });
  INFO(result.error);
  REQUIRE(result.acked.size() == static_cast<size_t>(kFloodCount));
  CHECK(backlog_started);
  const int64_t flood_ms = ms_since(start);

  // What Alice showed as delivered when Bob died was committed in his archive, once.
  INFO(delivered_at_kill.size() << " delivered and " << bob_at_kill.size()
                                << " archived at the kill");
  for (const auto& text : delivered_at_kill) {
    if (bob_at_kill[text] != 1)
      FAIL_CHECK(text << " shown delivered, archived " << bob_at_kill[text]);
  }
  for (const auto& [text, n] : bob_at_kill) {
    if (n != 1) FAIL_CHECK(text << " archived " << n << " times before the restart");
  }

  bob.start({"--peer", alice.endpoint()});
  const auto restarted = std::chrono::steady_clock::now();
  REQUIRE(wait_until(every(250ms, [&] { return all_delivered(alice, kFloodCount); }), 60s));
  const int64_t drain_ms = ms_since(restarted);

  auto at_bob = bob.history();
  auto counts = incoming_counts(at_bob);
  CHECK(counts.size() == static_cast<size_t>(kFloodCount));
  int wrong = 0;
  for (int i = 0; i < kFloodCount; ++i) {
    if (counts[text_of(i)] != 1 && ++wrong <= 10) {
      FAIL_CHECK(text_of(i) << " archived " << counts[text_of(i)] << " times");
    }
  }
  CHECK(wrong == 0);
  // And in the order Alice sent them.
  std::vector<std::string> order;
  for (const auto& m : at_bob) order.push_back(m["body"]);
  CHECK(std::is_sorted(order.begin(), order.end(), [](const std::string& a, const std::string& b) {
    return std::stoi(a.substr(1)) < std::stoi(b.substr(1));
  }));
  WARN("receiver crash: " << kFloodCount << " texts flooded in " << flood_ms << " ms; at the kill "
                          << delivered_at_kill.size() << " delivered, " << bob_at_kill.size()
                          << " archived; drained in " << drain_ms << " ms after the restart; Bob "
                          << "counted " << bob.stats().value("message_duplicates", uint64_t{0})
                          << " duplicates");
}

TEST_CASE(
    "a sender SIGKILLed mid-flood and restarted loses nothing it acknowledged, and its "
    "outbox drains into the receiver's archive exactly once",
    "[messaging][crash][integration]") {
  std::mt19937 rng(Catch::rngSeed() + 1);
  const int kill_at = std::uniform_int_distribution<int>(kFloodCount / 5, kFloodCount / 2)(rng);
  INFO("seed " << Catch::rngSeed() << ": alice is killed after " << kill_at
               << " acknowledged sends");
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  connect_pair(alice, bob);

  // The kill comes from another thread while the flood waits for a reply, so it can land in
  // the middle of a send: before, inside or after its commit, before or after it went out.
  // A seeded jitter of up to 3 ms after the ack spreads where in the next request it lands.
  const auto jitter = std::chrono::microseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
  const int alice_pid = alice.pid();
  std::atomic<int> acked{0};
  std::thread killer([&] {
    for (int seen = acked.load(); seen < kill_at; seen = acked.load()) acked.wait(seen);
    if (acked.load() > kFloodCount) return;  // the flood ended without reaching kill_at
    std::this_thread::sleep_for(jitter);
    ::kill(alice_pid, SIGKILL);
  });
  // Bob is frozen (SIGSTOP) for the last kStalled sends before the kill, so Alice surely dies
  // with texts in her outbox that Bob has not acknowledged.
  constexpr int kStalled = 200;
  const auto start = std::chrono::steady_clock::now();
  auto result = flood(alice, "bob", 0, kFloodCount, &acked, [&](int i) {
    if (i + 1 == kill_at - kStalled) ::kill(bob.pid(), SIGSTOP);
  });
  acked = kFloodCount + 1;
  acked.notify_all();
  killer.join();
  const int64_t flood_ms = ms_since(start);
  alice.stop(SIGKILL);  // reap it
  ::kill(bob.pid(), SIGCONT);
  INFO(result.acked.size() << " acknowledged; then: " << result.error);
  REQUIRE(result.acked.size() >= static_cast<size_t>(kill_at));
  REQUIRE(result.acked.size() < static_cast<size_t>(kFloodCount));

  // Everything acknowledged is in Alice's archive after the crash (read offline).
  auto states = outgoing_states(alice.history());
  for (int i : result.acked) {
    if (!states.count(text_of(i))) FAIL_CHECK(text_of(i) << " was acknowledged but is lost");
  }
  // At most the one unanswered request may have been committed besides.
  CHECK(states.size() <= result.acked.size() + 1);
  const auto undelivered = std::count_if(states.begin(), states.end(),
                                         [](const auto& s) { return s.second != "delivered"; });
  INFO(undelivered << " texts waited in Alice's outbox when she died");
  CHECK(undelivered >= kStalled);

  // Alice comes back on a new port; she finds Bob (whose --peer points at her old one) herself.
  alice.start({"--peer", bob.endpoint()});
  // The rest of the flood, after the restart.
  const int resume = result.acked.back() + 2;  // past the unanswered one
  auto rest = flood(alice, "bob", resume, kFloodCount, nullptr);
  INFO(rest.error);
  REQUIRE(rest.acked.size() == static_cast<size_t>(kFloodCount - resume));
  const size_t total = outgoing_states(alice.history()).size();
  CHECK(total >= result.acked.size() + rest.acked.size());
  const auto restarted = std::chrono::steady_clock::now();
  REQUIRE(wait_until(every(250ms, [&] { return all_delivered(alice, total); }), 60s));
  const int64_t drain_ms = ms_since(restarted);

  auto at_alice = outgoing_states(alice.history());
  auto counts = incoming_counts(bob.history());
  CHECK(counts.size() == at_alice.size());
  int wrong = 0;
  for (const auto& [text, state] : at_alice) {
    if (counts[text] != 1 && ++wrong <= 10) {
      FAIL_CHECK(text << " delivered at Alice, archived " << counts[text] << " times at Bob");
    }
  }
  CHECK(wrong == 0);
  for (int i : result.acked) CHECK(at_alice.count(text_of(i)) == 1);
  WARN("sender crash: " << result.acked.size() << " texts before the kill (" << flood_ms
                        << " ms incl. the reply timeout), " << undelivered
                        << " of them undelivered at the kill, " << rest.acked.size()
                        << " after; drained in " << drain_ms << " ms; Bob counted "
                        << bob.stats().value("message_duplicates", uint64_t{0}) << " duplicates");
}
