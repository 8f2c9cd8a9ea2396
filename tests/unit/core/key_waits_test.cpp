// KeyWaits: channel messages held until their author's sender key arrives, within bounds that
// one member cannot use to crowd out the others.
#include "src/core/key_waits.h"

#include <catch2/catch.hpp>
#include <string>

using sotto::core::KeyWaits;
using sotto::core::Received;

namespace {

Received group(const std::string& from, const std::string& channel, const std::string& id,
               size_t body_bytes = 100) {
  Received item;
  item.from = from;
  auto* g = item.envelope.mutable_group();
  g->set_channel_id(channel);
  g->set_message_id(id);
  g->set_body(std::string(body_bytes, 'x'));
  return item;
}

}  // namespace

TEST_CASE("held channel messages come out when their author's key for that channel arrives",
          "[core][channels]") {
  KeyWaits waits;
  REQUIRE(waits.hold(group("bob", "ops", "1"), 0));
  REQUIRE(waits.hold(group("carol", "ops", "2"), 0));
  REQUIRE(waits.hold(group("bob", "other", "3"), 0));
  REQUIRE(waits.hold(group("bob", "ops", "4"), 0));
  // A resend of a held message is held once.
  REQUIRE(waits.hold(group("bob", "ops", "1"), 0));
  CHECK(waits.size() == 4);
  CHECK(waits.take_due().empty());

  waits.key_applied("bob", "ops");
  auto due = waits.take_due();
  REQUIRE(due.size() == 2);
  CHECK(due[0].envelope.group().message_id() == "1");  // in the order they came
  CHECK(due[1].envelope.group().message_id() == "4");
  CHECK(waits.size() == 2);
  CHECK(waits.take_due().empty());
}

TEST_CASE("one member fills only its own share of the held messages; the rest expire",
          "[core][channels][adversarial]") {
  KeyWaits waits;
  for (size_t i = 0; i < KeyWaits::kMaxPerAuthor; ++i) {
    REQUIRE(waits.hold(group("mallory", "ops", "m" + std::to_string(i)), 0));
  }
  CHECK_FALSE(waits.hold(group("mallory", "ops", "one more"), 0));
  CHECK(waits.hold(group("bob", "ops", "b"), 0));

  // In bytes too: large messages fill the total before the count.
  KeyWaits big;
  const size_t body = 256 * 1024;
  size_t held = 0;
  for (int author = 10; author < 74; ++author) {  // each held message: body + 7 bytes
    if (big.hold(group("m" + std::to_string(author), "ops", "x", body), 0)) ++held;
  }
  CHECK(held == KeyWaits::kMaxBytes / (body + 7));
  CHECK(big.bytes() <= KeyWaits::kMaxBytes);

  CHECK(waits.expire(KeyWaits::kTtlMs) == 0);
  CHECK(waits.expire(KeyWaits::kTtlMs + 1) == KeyWaits::kMaxPerAuthor + 1);
  CHECK(waits.size() == 0);
  CHECK(waits.bytes() == 0);
  CHECK(waits.hold(group("mallory", "ops", "again"), KeyWaits::kTtlMs + 1));
}
