// OutboxFlow against a fake clock: when a retry falls due, how it backs off, how receipts teach
// patience and re-arm it, and how a recovery resends window after window.
#include <catch2/catch.hpp>

#include "sotto/base/clock.h"
#include "src/core/outbox_flow.h"

using namespace sotto;
using core::OutboxFlow;
using core::OutboxFlowOptions;

namespace {

constexpr OutboxFlowOptions kOptions{2000, 60000, 256};

// A flow that handed frames 1..`through` to the socket and armed its retry.
OutboxFlow sending(const FakeClock& clock, int64_t through) {
  OutboxFlow flow(kOptions);
  for (int64_t id = 1; id <= through; ++id) {
    flow.note_sent(id);
    flow.arm_retry(clock.now_ms());
  }
  return flow;
}

}  // namespace

TEST_CASE("a retry falls due retry_initial_ms after the first unacknowledged send",
          "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow(kOptions);
  CHECK(flow.retry_at_ms() == 0);
  CHECK_FALSE(flow.retry_due(clock.now_ms()));
  flow.note_sent(1);
  flow.arm_retry(clock.now_ms());
  clock.advance_ms(500);
  flow.note_sent(2);
  flow.arm_retry(clock.now_ms());  // already armed: the first send sets the time
  CHECK(flow.retry_at_ms() == clock.now_ms() - 500 + kOptions.retry_initial_ms);
  clock.advance_ms(kOptions.retry_initial_ms - 501);
  CHECK_FALSE(flow.retry_due(clock.now_ms()));
  clock.advance_ms(1);
  CHECK(flow.retry_due(clock.now_ms()));
}

TEST_CASE("each retry waits twice as long as the last, up to retry_max_ms", "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow = sending(clock, 1);
  int64_t expected = kOptions.retry_initial_ms;
  for (int i = 0; i < 10; ++i) {
    clock.advance_ms(flow.retry_at_ms() - clock.now_ms());
    REQUIRE(flow.retry_due(clock.now_ms()));
    flow.back_off(clock.now_ms());
    expected = std::min(expected * 2, kOptions.retry_max_ms);
    CHECK(flow.backoff_ms() == expected);
    CHECK(flow.retry_at_ms() == clock.now_ms() + expected);
  }
  CHECK(flow.backoff_ms() == kOptions.retry_max_ms);
}

TEST_CASE("a receipt with frames still waiting starts the retry clock over",
          "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow = sending(clock, 5);
  clock.advance_ms(300);
  flow.on_progress(true, clock.now_ms());
  CHECK(flow.retry_at_ms() == clock.now_ms() + kOptions.retry_initial_ms);
  CHECK(flow.patience_ms() == kOptions.retry_initial_ms);  // a quick peer teaches no patience
}

TEST_CASE("the last receipt leaves the flow idle: no retry, no gap measured",
          "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow = sending(clock, 3);
  clock.advance_ms(100);
  flow.on_progress(false, clock.now_ms());
  CHECK(flow.retry_at_ms() == 0);
  clock.advance_ms(100'000);
  CHECK_FALSE(flow.retry_due(clock.now_ms()));
  // The time spent idle is not a gap between receipts: patience stays where it was.
  flow.note_sent(4);
  flow.arm_retry(clock.now_ms());
  clock.advance_ms(100);
  flow.on_progress(false, clock.now_ms());
  CHECK(flow.patience_ms() == kOptions.retry_initial_ms);
}

TEST_CASE("a slow peer teaches patience at once, which wears off while it keeps up",
          "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow = sending(clock, 100);
  clock.advance_ms(5000);  // the first receipt comes 5 s after the send
  flow.on_progress(true, clock.now_ms());
  CHECK(flow.patience_ms() == 10000);  // twice the gap
  CHECK(flow.retry_at_ms() == clock.now_ms() + 10000);
  clock.advance_ms(10);
  flow.on_progress(true, clock.now_ms());
  CHECK(flow.patience_ms() == 10000 - (10000 - kOptions.retry_initial_ms) / 8);
  for (int i = 0; i < 200; ++i) {
    clock.advance_ms(10);
    flow.on_progress(true, clock.now_ms());
  }
  // An eighth of what is left, rounded down: it settles within 8 ms of the least.
  CHECK(flow.patience_ms() < kOptions.retry_initial_ms + 8);
  clock.advance_ms(kOptions.retry_max_ms);  // never more than retry_max_ms
  flow.on_progress(true, clock.now_ms());
  CHECK(flow.patience_ms() == kOptions.retry_max_ms);
}

TEST_CASE("a learnt patience is where the next retry clock starts", "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow = sending(clock, 2);
  clock.advance_ms(4000);
  flow.on_progress(false, clock.now_ms());
  REQUIRE(flow.patience_ms() == 8000);
  flow.note_sent(3);
  flow.arm_retry(clock.now_ms());
  CHECK(flow.retry_at_ms() == clock.now_ms() + 8000);
}

TEST_CASE("a full resent window recovers window by window as half is acknowledged",
          "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow = sending(clock, 1000);
  flow.begin_resend();
  flow.end_resend(0, 256, 256);  // the window was full and more was sent: recovering
  CHECK(flow.recovering());
  CHECK_FALSE(flow.take_recovery_point());  // no receipt yet
  flow.on_progress(true, clock.now_ms());
  auto point = flow.take_recovery_point();
  REQUIRE(point);
  CHECK(*point == 256);
  CHECK_FALSE(flow.take_recovery_point());  // the receipts were looked at
  CHECK_FALSE(flow.ready_for_next_window(129));
  CHECK(flow.ready_for_next_window(128));
}

TEST_CASE("a resend that reached the end of what was sent ends the recovery",
          "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow = sending(clock, 300);
  SECTION("a window not full") {
    flow.begin_resend();
    flow.end_resend(0, 100, 100);
  }
  SECTION("a full window reaching the last frame sent") {
    flow.begin_resend();
    flow.end_resend(44, 300, 256);
  }
  SECTION("a full window that sent nothing (the socket was full)") {
    flow.begin_resend();
    flow.end_resend(0, 0, 256);
  }
  CHECK_FALSE(flow.recovering());
  flow.on_progress(true, clock.now_ms());
  CHECK_FALSE(flow.take_recovery_point());
}

TEST_CASE("a reconnect sends everything again and drops the recovery", "[core][outbox_flow]") {
  FakeClock clock;
  OutboxFlow flow = sending(clock, 600);
  flow.begin_resend();
  flow.end_resend(0, 256, 256);
  REQUIRE(flow.recovering());
  flow.block();
  flow.disarm();
  flow.restart();
  flow.unblock();
  CHECK(flow.sent_through() == 0);
  CHECK_FALSE(flow.recovering());
  CHECK_FALSE(flow.blocked());
  CHECK(flow.retry_at_ms() == 0);
  flow.arm_retry(clock.now_ms());
  CHECK(flow.retry_at_ms() == clock.now_ms() + kOptions.retry_initial_ms);
}
