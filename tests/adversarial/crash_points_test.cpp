// Adversarial scenario 4 (issue 9): crash points. DESIGN §6 names four moments where a crash
// could cost a message or desynchronise a ratchet; each test arms one of them in a daemon that
// is this test binary (`sotto-tests --as-sotto`, tests/support/crash_points.h) and lets it kill
// itself (SIGKILL) there on a hit drawn from the run's seed, in the middle of a 1,000-text flood:
//
//   receiver  after decrypt, before commit   the ratchet step rolls back: the retry decrypts
//             after commit, before receipt   the retry is a duplicate: acknowledged, not stored
//   sender    after encrypt, before commit   the message and its ratchet step vanish together
//             after commit, before send      the outbox sends it after the restart
//
// After the restart, every text the sender's node acknowledged is delivered and archived
// exactly once, in order, nothing was ever shown delivered that the receiver lacked, and both
// sides still talk to each other (no ratchet desynchronisation).
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
constexpr int kReplyTimeoutMs = 2000;

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
// the order sent, and the receiver has nothing else.
void expect_exactly_once(const DaemonProfile& sender, const DaemonProfile& receiver) {
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
  std::vector<int> order;
  for (const auto& m : history) order.push_back(std::stoi(m["body"].get<std::string>().substr(1)));
  CHECK(std::is_sorted(order.begin(), order.end()));
}

// One new text each way after the crash: both ratchets still agree.
void expect_conversation_continues(DaemonProfile& alice, DaemonProfile& bob) {
  const json to_bob = alice.request({{"cmd", "send"}, {"to", "bob"}, {"text", "after-a"}});
  const json to_alice = bob.request({{"cmd", "send"}, {"to", "alice"}, {"text", "after-b"}});
  INFO(to_bob.dump() << " " << to_alice.dump());
  REQUIRE(to_bob.value("ok", false));
  REQUIRE(to_alice.value("ok", false));
  auto delivered = [](const DaemonProfile& from, const std::string& text) {
    return outgoing_states(from.history())[text] == "delivered";
  };
  CHECK(wait_until(every(100ms, [&] { return delivered(alice, "after-a"); }), 10s));
  CHECK(wait_until(every(100ms, [&] { return delivered(bob, "after-b"); }), 10s));
  CHECK(incoming_counts(bob.history())["after-a"] == 1);
  CHECK(incoming_counts(alice.history())["after-b"] == 1);
}

void receiver_crash(CrashPoint point) {
  std::mt19937 rng(Catch::rngSeed() + static_cast<unsigned>(point));
  const int countdown = draw_countdown(point, rng);
  INFO("seed " << Catch::rngSeed() << ": bob dies " << crash_point_name(point) << " on hit "
               << countdown);
  const auto start = std::chrono::steady_clock::now();
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  bob.set_launcher(crash_launcher(point, countdown));
  connect_pair(alice, bob);

  // Alice's node takes every text whether Bob lives or not: they wait in her outbox.
  auto result = flood(alice, "bob", 0, kFloodCount);
  INFO(result.error);
  REQUIRE(result.acked.size() == static_cast<size_t>(kFloodCount));
  expect_crashed_at(bob, point);
  expect_delivered_archived(alice, bob);  // Bob's archive read offline, as the crash left it

  bob.set_launcher({});
  bob.start({"--peer", alice.endpoint()});
  REQUIRE(wait_until(every(200ms, [&] { return all_delivered(alice, kFloodCount); }), 30s));
  expect_exactly_once(alice, bob);
  expect_conversation_continues(alice, bob);
  WARN(crash_point_name(point) << ": " << ms_since(start) << " ms in all; Bob counted "
                               << bob.stats().value("message_duplicates", uint64_t{0})
                               << " duplicates after the restart");
}

void sender_crash(CrashPoint point) {
  std::mt19937 rng(Catch::rngSeed() + static_cast<unsigned>(point));
  const int countdown = draw_countdown(point, rng);
  INFO("seed " << Catch::rngSeed() << ": alice dies " << crash_point_name(point) << " on hit "
               << countdown);
  const auto start = std::chrono::steady_clock::now();
  DaemonProfile alice("alice");
  DaemonProfile bob("bob");
  alice.set_launcher(crash_launcher(point, countdown));
  connect_pair(alice, bob);

  auto result = flood(alice, "bob", 0, kFloodCount, nullptr, {}, nullptr, kReplyTimeoutMs);
  INFO(result.acked.size() << " acknowledged; then: " << result.error);
  REQUIRE(result.unanswered);
  expect_crashed_at(alice, point);

  // Everything acknowledged survived; the text in flight is committed exactly when the crash
  // came after the commit (read offline).
  auto states = outgoing_states(alice.history());
  for (int i : result.acked) {
    if (!states.count(text_of(i))) FAIL_CHECK(text_of(i) << " was acknowledged but is lost");
  }
  const bool in_flight_committed = point == CrashPoint::kAfterCommitBeforeSend;
  CHECK(states.count(text_of(*result.unanswered)) == (in_flight_committed ? 1u : 0u));
  CHECK(states.size() == result.acked.size() + (in_flight_committed ? 1 : 0));
  expect_delivered_archived(alice, bob);

  // Alice comes back on a new port (Bob's --peer names her old one) and finishes the flood.
  alice.set_launcher({});
  alice.start({"--peer", bob.endpoint()});
  auto rest = flood(alice, "bob", *result.unanswered + 1, kFloodCount);
  INFO(rest.error);
  REQUIRE(rest.acked.size() == static_cast<size_t>(kFloodCount - *result.unanswered - 1));
  const size_t total = states.size() + rest.acked.size();
  REQUIRE(wait_until(every(200ms, [&] { return all_delivered(alice, total); }), 30s));
  expect_exactly_once(alice, bob);
  expect_conversation_continues(alice, bob);
  WARN(crash_point_name(point) << ": " << ms_since(start) << " ms in all; Bob counted "
                               << bob.stats().value("message_duplicates", uint64_t{0})
                               << " duplicates");
}

}  // namespace

TEST_CASE(
    "a receiver killed after decrypting, before committing, decrypts the retry after its "
    "restart and archives every text once",
    "[adversarial][crash-points]") {
  receiver_crash(CrashPoint::kAfterDecryptBeforeCommit);
}

TEST_CASE(
    "a receiver killed after committing, before its receipts went out, acknowledges the "
    "retries after its restart without storing them twice",
    "[adversarial][crash-points]") {
  receiver_crash(CrashPoint::kAfterCommitBeforeReceipt);
}

TEST_CASE(
    "a sender killed after encrypting, before committing, loses only the unacknowledged text "
    "and its ratchet step, and carries on in step with the receiver",
    "[adversarial][crash-points]") {
  sender_crash(CrashPoint::kAfterEncryptBeforeCommit);
}

TEST_CASE(
    "a sender killed after committing, before sending, sends the committed text from its "
    "outbox after the restart",
    "[adversarial][crash-points]") {
  sender_crash(CrashPoint::kAfterCommitBeforeSend);
}
