// Adversarial scenario 4 (issue 9): crash points. doc/guide.md, Text names four moments where a
// crash could cost a message or desynchronise a ratchet. A daemon that is this test binary
// (`sotto-tests --as-sotto`, tests/support/crash_points.h) kills itself (SIGKILL) at one of them
// on a hit drawn from the run's seed, in the middle of a flood of 1,000 texts; it is started
// again armed at the next point, and the flood goes on:
//
//   receiver  after decrypt, before commit   the ratchet step rolls back: the retry decrypts
//             after commit, before receipt   the retry is a duplicate: acknowledged, not stored
//   sender    after encrypt, before commit   the text and its ratchet step vanish together
//             after commit, before send      the outbox sends it after the restart
//
// After each crash nothing was shown delivered that the receiver lacks; after the last restart
// every text the sender's node acknowledged is delivered and archived exactly once, in order,
// and both sides still talk to each other (no ratchet desynchronisation).
#include <catch2/catch.hpp>
#include <chrono>
#include <random>

#include "tests/support/crash_points.h"
#include "tests/support/daemon.h"
#include "tests/support/flood.h"
#include "tests/support/wait.h"

using namespace sotto;
using namespace sotto::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kFloodCount = 1000;
// A request unanswered this long means the sender died: its replies come in milliseconds.
constexpr int kReplyTimeoutMs = 1000;

// Where in the flood the crash comes: the hit counts messages at the per-message points and
// receive or send transactions at the others, and a transaction may carry several messages,
// so those draw from a lower range to land inside the flood for sure.
int draw_countdown(CrashPoint point, std::mt19937& rng) {
  const bool per_message = point == CrashPoint::kAfterDecryptBeforeCommit ||
                           point == CrashPoint::kAfterEncryptBeforeCommit;
  return per_message ? std::uniform_int_distribution<int>(100, 700)(rng)
                     : std::uniform_int_distribution<int>(20, 200)(rng);
}

// Reaps a daemon that armed `point` and checks it died there (and not some other way).
void expect_crashed_at(DaemonProfile& profile, CrashPoint point) {
  const auto line = profile.wait_for_output(crash_point_line(point), 10000);
  const int code = profile.stop(SIGKILL);
  INFO(profile.daemon_output());
  REQUIRE(line);
  CHECK(code == 128 + SIGKILL);
}

// Every text shown delivered at `sender` is in `receiver`'s archive exactly once.
void expect_delivered_archived(const DaemonProfile& sender, const DaemonProfile& receiver) {
  auto states = outgoing_states(sender.history());
  auto counts = incoming_counts(receiver.history());
  size_t delivered = 0;
  for (const auto& [text, state] : states) {
    if (state != "delivered") continue;
    ++delivered;
    if (counts[text] != 1) FAIL_CHECK(text << " shown delivered, archived " << counts[text]);
  }
  for (const auto& [text, n] : counts) {
    if (n != 1) FAIL_CHECK(text << " archived " << n << " times");
  }
  WARN(delivered << " delivered and " << counts.size() << " archived at the crash");
}

// Every outgoing text of `sender` is delivered and in `receiver`'s archive exactly once, in
// the order sent, and the receiver has nothing else. Every text in `acked` (those the sender's
// node acknowledged to the flood) is among them: a text lost by both sides at once would
// otherwise pass unseen.
void expect_exactly_once(const DaemonProfile& sender, const DaemonProfile& receiver,
                         const std::vector<int>& acked) {
  auto states = outgoing_states(sender.history());
  auto history = receiver.history();
  auto counts = incoming_counts(history);
  CHECK(counts.size() == states.size());
  int wrong = 0;
  for (const auto& [text, state] : states) {
    if ((counts[text] != 1 || state != "delivered") && ++wrong <= 10) {
      FAIL_CHECK(text << " is " << state << " at the sender, archived " << counts[text]
                      << " times at the receiver");
    }
  }
  CHECK(wrong == 0);
  int lost = 0;
  for (int i : acked) {
    if (states.count(text_of(i)) == 0 && ++lost <= 10) {
      FAIL_CHECK(text_of(i) << " was acknowledged, and is not in the sender's history");
    }
  }
  CHECK(lost == 0);
  std::vector<int> order;
  for (const auto& m : history) order.push_back(std::stoi(m["body"].get<std::string>().substr(1)));
  CHECK(std::is_sorted(order.begin(), order.end()));
}

// One new text each way after the crash: both ratchets still agree.
// The newest `n` messages of `profile`'s conversation with `to` (cheap to poll, unlike the
// whole archive).
std::vector<json> recent(const DaemonProfile& profile, const std::string& to, int n) {
  const json reply = profile.request({{"cmd", "history"}, {"to", to}, {"limit", n}});
  return reply.value("messages", json::array()).get<std::vector<json>>();
}

// One new text each way after the crashes: both ratchets still agree.
void expect_conversation_continues(DaemonProfile& alice, DaemonProfile& bob) {
  const json to_bob = alice.request({{"cmd", "send"}, {"to", "bob"}, {"text", "after-a"}});
  const json to_alice = bob.request({{"cmd", "send"}, {"to", "alice"}, {"text", "after-b"}});
  INFO(to_bob.dump() << " " << to_alice.dump());
  REQUIRE(to_bob.value("ok", false));
  REQUIRE(to_alice.value("ok", false));
  // Each side's two newest messages: the text it sent (delivered) and the one it got, once.
  auto exchanged = [](const DaemonProfile& self, const std::string& peer, const std::string& out,
                      const std::string& in) {
    auto last = recent(self, peer, 3);
    int sent_delivered = 0, received = 0;
    for (const auto& m : last) {
      if (m["body"] == out && m["state"] == "delivered") ++sent_delivered;
      if (m["body"] == in && !m.value("outgoing", false)) ++received;
    }
    return sent_delivered == 1 && received == 1;
  };
  CHECK(
      wait_until(every(50ms, [&] { return exchanged(alice, "bob", "after-a", "after-b"); }), 10s));
  CHECK(
      wait_until(every(50ms, [&] { return exchanged(bob, "alice", "after-b", "after-a"); }), 10s));
}

// Bob dies at `point` during a flood of kFloodCount texts (or the drain of the backlog an earlier
// crash left) and is started again with `launcher` on his profile.
void receiver_crash(DaemonProfile& alice, DaemonProfile& bob, CrashPoint point,
                    std::vector<std::string> launcher, int& next, std::vector<int>& acked) {
  // Alice's node takes every text whether Bob lives or not: they wait in her outbox.
  auto result = flood(alice, "bob", next, next + kFloodCount);
  INFO(result.error);
  REQUIRE(result.acked.size() == static_cast<size_t>(kFloodCount));
  acked.insert(acked.end(), result.acked.begin(), result.acked.end());
  next += kFloodCount;
  expect_crashed_at(bob, point);
  expect_delivered_archived(alice, bob);  // Bob's archive read offline, as the crash left it
  bob.set_launcher(std::move(launcher));
  bob.start({"--peer", alice.endpoint()});
}

// Alice dies at `point` during a flood of kFloodCount texts and is started again with
// `launcher` on her profile; the next flood starts after the text that was in flight.
void sender_crash(DaemonProfile& alice, DaemonProfile& bob, CrashPoint point,
                  std::vector<std::string> launcher, int& next, std::vector<int>& acked) {
  auto result =
      flood(alice, "bob", next, next + kFloodCount, nullptr, {}, nullptr, kReplyTimeoutMs);
  INFO(result.acked.size() << " acknowledged; then: " << result.error);
  REQUIRE(result.unanswered);
  acked.insert(acked.end(), result.acked.begin(), result.acked.end());
  expect_crashed_at(alice, point);
  // Everything acknowledged survived; the text in flight is committed exactly when the crash
  // came after the commit (read offline).
  auto states = outgoing_states(alice.history());
  for (int i : result.acked) {
    if (!states.count(text_of(i))) FAIL_CHECK(text_of(i) << " was acknowledged but is lost");
  }
  const bool in_flight_committed = point == CrashPoint::kAfterCommitBeforeSend;
  CHECK(states.count(text_of(*result.unanswered)) == (in_flight_committed ? 1u : 0u));
  expect_delivered_archived(alice, bob);
  next = *result.unanswered + 1;
  // On a new port: Bob's --peer names her first one, hers names him.
  alice.set_launcher(std::move(launcher));
  alice.start({"--peer", bob.endpoint()});
}

}  // namespace

TEST_CASE(
    "a conversation survives kill -9 at each crash point of sender and receiver, with every "
    "acknowledged text archived exactly once, in order, and both ratchets still in step",
    "[adversarial][crash-points]") {
  const std::vector<CrashPoint> points = {
      CrashPoint::kAfterDecryptBeforeCommit, CrashPoint::kAfterCommitBeforeReceipt,
      CrashPoint::kAfterEncryptBeforeCommit, CrashPoint::kAfterCommitBeforeSend};
  std::mt19937 rng(Catch::rngSeed());
  std::vector<int> hits;
  std::string plan;
  for (CrashPoint point : points) {
    hits.push_back(draw_countdown(point, rng));
    plan += " " + crash_point_name(point) + "@" + std::to_string(hits.back());
  }
  INFO("seed " << Catch::rngSeed() << ":" << plan);
  const auto start = std::chrono::steady_clock::now();
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  bob.set_launcher(crash_launcher(points[0], hits[0]));
  connect_pair(alice, bob);
  int next = 0;
  std::vector<int> acked;  // every text Alice's node acknowledged, over all four floods

  receiver_crash(alice, bob, points[0], crash_launcher(points[1], hits[1]), next, acked);
  receiver_crash(alice, bob, points[1], {}, next, acked);
  // Alice's turn: restarted armed, so that her hits count from here.
  alice.stop();
  alice.set_launcher(crash_launcher(points[2], hits[2]));
  alice.start({"--peer", bob.endpoint()});
  sender_crash(alice, bob, points[2], crash_launcher(points[3], hits[3]), next, acked);
  sender_crash(alice, bob, points[3], {}, next, acked);

  const size_t total = outgoing_states(alice.history()).size();
  // The two receiver-crash floods were acknowledged in full, the sender-crash ones up to the kill.
  CHECK(acked.size() >= 2 * static_cast<size_t>(kFloodCount));
  CHECK(total >= acked.size());
  REQUIRE(wait_until(every(200ms, [&] { return all_delivered(alice, total); }), 30s));
  expect_exactly_once(alice, bob, acked);
  expect_conversation_continues(alice, bob);
  WARN("crash points:" << plan << "; " << total << " texts committed, " << ms_since(start)
                       << " ms in all; Bob counted "
                       << bob.stats().value("message_duplicates", uint64_t{0})
                       << " duplicates since his last restart");
}
