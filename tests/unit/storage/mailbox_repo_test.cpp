// MailboxStore and MailboxRecords (migration 0013): what a mailbox holds for its users, under
// whose permission and quota, until the user takes it or its time runs out; and the records a
// user's contacts keep of where its mail waits.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sotto/storage/database.h"
#include "sotto/storage/mailbox_repo.h"
#include "storage/migrations.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using storage::DepositOutcome;
using storage::MailboxStore;

namespace {

const std::string kBob(64, 'b');
const std::string kAlice(64, 'a');
const std::string kMallory(64, 'm');

struct Mailbox {
  test::TempDir tmp;
  std::unique_ptr<storage::Database> db;

  Mailbox() {
    SecretBytes key(32);
    for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(i * 5 + 3);
    auto opened = storage::Database::open(tmp / "m.db", key, storage::Database::Mode::kCreate);
    REQUIRE(opened.is_ok());
    db = std::move(opened).value();
    REQUIRE(storage::migrate(*db).is_ok());
  }
  MailboxStore store() { return MailboxStore(*db); }
  DepositOutcome deposit(const std::string& from, uint8_t id, size_t size = 100,
                         int64_t expires_at = 1'000'000, int64_t quota = 1'000) {
    auto outcome = store().deposit(kBob, from, Bytes(16, id), Bytes(size, id), expires_at, quota);
    REQUIRE(outcome.is_ok());
    return outcome.value();
  }
};

}  // namespace

TEST_CASE("mailbox store: only a user's named senders deposit, each frame once, within its quota",
          "[storage][mailbox]") {
  Mailbox m;
  CHECK(m.deposit(kAlice, 1) == DepositOutcome::kRefused);  // bob is no user yet
  REQUIRE(m.store().register_user(kBob, {kAlice}, 0).is_ok());
  CHECK(m.deposit(kMallory, 1) == DepositOutcome::kRefused);
  CHECK(m.deposit(kAlice, 1) == DepositOutcome::kHeld);
  CHECK(m.deposit(kAlice, 1) == DepositOutcome::kAlreadyHeld);
  for (uint8_t id = 2; id <= 10; ++id) CHECK(m.deposit(kAlice, id) == DepositOutcome::kHeld);
  CHECK(m.deposit(kAlice, 11) == DepositOutcome::kOverQuota);  // 10 x 100 bytes: full
  auto stats = m.store().stats(kBob);
  REQUIRE(stats.is_ok());
  CHECK(stats.value().held == 10);
  CHECK(stats.value().held_bytes == 1000);
  CHECK(stats.value().senders == 1);
  // Registering again names the senders anew: alice's deposits stop when she is left out.
  REQUIRE(m.store().register_user(kBob, {kMallory}, 0).is_ok());
  CHECK(m.deposit(kAlice, 12) == DepositOutcome::kRefused);
}

TEST_CASE("mailbox store: frames go to their user in deposit order and only the user takes them",
          "[storage][mailbox]") {
  Mailbox m;
  REQUIRE(m.store().register_user(kBob, {kAlice}, 0).is_ok());
  REQUIRE(m.store().register_user(kMallory, {kAlice}, 0).is_ok());
  for (uint8_t id = 1; id <= 5; ++id) m.deposit(kAlice, id);
  auto held = m.store().held(kBob, 0, 3);
  REQUIRE(held.is_ok());
  REQUIRE(held.value().size() == 3);
  CHECK(held.value()[0].message_id == Bytes(16, 1));
  CHECK(held.value()[2].message_id == Bytes(16, 3));
  CHECK(held.value()[1].sender == kAlice);
  const int64_t first = held.value()[0].handle;
  auto by_other = m.store().take(kMallory, first);
  REQUIRE(by_other.is_ok());
  CHECK_FALSE(by_other.value());
  auto taken = m.store().take(kBob, first);
  REQUIRE(taken.is_ok());
  CHECK(taken.value());
  auto again = m.store().take(kBob, first);
  REQUIRE(again.is_ok());
  CHECK_FALSE(again.value());
  auto rest = m.store().held(kBob, 0, 10);
  REQUIRE(rest.is_ok());
  CHECK(rest.value().size() == 4);
  CHECK(m.store().stats(kBob).value().held_bytes == 400);
  // Leaving drops everything held for the user.
  REQUIRE(m.store().remove_user(kBob).is_ok());
  CHECK(m.store().held(kBob, 0, 10).value().empty());
}

TEST_CASE("mailbox store: what expires is dropped and its sender owed a notice",
          "[storage][mailbox]") {
  Mailbox m;
  REQUIRE(m.store().register_user(kBob, {kAlice}, 0).is_ok());
  m.deposit(kAlice, 1, 100, /*expires_at=*/50);
  m.deposit(kAlice, 2, 100, /*expires_at=*/500);
  auto expired = m.store().expire(100);
  REQUIRE(expired.is_ok());
  CHECK(expired.value() == 1);
  CHECK(m.store().stats(kBob).value().held == 1);
  CHECK(m.store().stats(kBob).value().held_bytes == 100);
  auto senders = m.store().senders_with_notices();
  REQUIRE(senders.is_ok());
  CHECK(senders.value() == std::vector<std::string>{kAlice});
  auto notices = m.store().notices_for(kAlice, 10);
  REQUIRE(notices.is_ok());
  REQUIRE(notices.value().size() == 1);
  CHECK(notices.value()[0].recipient == kBob);
  CHECK(notices.value()[0].message_id == Bytes(16, 1));
  REQUIRE(m.store().drop_notice(notices.value()[0].id).is_ok());
  CHECK(m.store().notices_for(kAlice, 10).value().empty());
}

TEST_CASE("mailbox records: a contact's record is replaced only by a newer serial",
          "[storage][mailbox]") {
  Mailbox m;
  storage::MailboxRecords records(*m.db);
  auto kept = records.set_for_contact(kBob, "office", 2, Bytes{1});
  REQUIRE(kept.is_ok());
  CHECK(kept.value());
  CHECK_FALSE(records.set_for_contact(kBob, "elsewhere", 1, Bytes{2}).value());
  CHECK_FALSE(records.set_for_contact(kBob, "elsewhere", 2, Bytes{2}).value());
  CHECK(records.of_contact(kBob).value()->mailbox == "office");
  CHECK(records.set_for_contact(kBob, "", 3, Bytes{3}).value());
  CHECK(records.of_contact(kBob).value()->mailbox.empty());
  CHECK_FALSE(records.is_contacts_mailbox("office").value());
  REQUIRE(records.set_own(4, Bytes{9}).is_ok());
  REQUIRE(records.set_own(5, Bytes{8}).is_ok());
  CHECK(records.own().value()->serial == 5);
}
