// ChannelCopyRepo (migration 0012): what members keep to relay channel messages to each other —
// copies in the author's numbering, the mark that says how far they hold an author without a gap,
// the outbox entries a member's marks acknowledge, the floors and the signed keys handed on.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sotto/storage/channel_copy_repo.h"
#include "sotto/storage/channel_repo.h"
#include "sotto/storage/database.h"
#include "sotto/storage/message_repo.h"
#include "sotto/storage/outbox_repo.h"
#include "storage/migrations.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using storage::ChannelCopy;
using storage::ChannelCopyRepo;

namespace {

const std::string kAlice(64, 'a');
const std::string kBob(64, 'b');

// A fresh profile database with one channel, and archive rows to hang copies on.
struct Copies {
  test::TempDir tmp;
  std::unique_ptr<storage::Database> db;
  Bytes channel = Bytes(16, 0x42);

  Copies() {
    SecretBytes key(32);
    for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(i * 7 + 1);
    auto opened = storage::Database::open(tmp / "p.db", key, storage::Database::Mode::kCreate);
    REQUIRE(opened.is_ok());
    db = std::move(opened).value();
    REQUIRE(storage::migrate(*db).is_ok());
    storage::ChannelRecord record;
    record.id = channel;
    record.name = "ops";
    record.admin = kAlice;
    record.admin_key = Bytes(33, 5);
    REQUIRE(storage::ChannelRepo(*db).save(record).is_ok());
  }
  ChannelCopyRepo repo() { return ChannelCopyRepo(*db); }

  // `author`'s message number `seq`, archived and kept as a copy; its archive row.
  int64_t keep(const std::string& author, int64_t seq, int64_t generation = 1) {
    storage::MessageRecord message;
    message.message_id = Bytes(16, static_cast<uint8_t>(seq));
    message.message_id[0] = static_cast<uint8_t>(seq >> 8);
    message.message_id[1] = static_cast<uint8_t>(author[0]);
    message.conversation = "#ops";
    message.sender = author;
    message.body = "text " + std::to_string(seq);
    auto row = storage::MessageRepo(*db).insert(message);
    REQUIRE(row.is_ok());
    REQUIRE(row.value().has_value());
    ChannelCopy copy;
    copy.message_row = *row.value();
    copy.channel_id = channel;
    copy.author = author;
    copy.seq = seq;
    copy.generation = generation;
    copy.body = Bytes(40, static_cast<uint8_t>(seq));
    REQUIRE(repo().add(copy).is_ok());
    REQUIRE(repo().advance_mark(channel, author, seq).is_ok());
    return copy.message_row;
  }

  std::optional<int64_t> mark(const std::string& author) {
    auto held = repo().mark(channel, author);
    REQUIRE(held.is_ok());
    return held.value();
  }
};

}  // namespace

TEST_CASE("ChannelCopyRepo: a mark moves only over what is held without a gap") {
  Copies copies;
  CHECK_FALSE(copies.mark(kAlice).has_value());  // no key from alice: nothing to ask for
  copies.keep(kAlice, 1);
  CHECK(copies.mark(kAlice) == 1);
  copies.keep(kAlice, 3);  // 2 is missing: held, but the mark stays
  copies.keep(kAlice, 4);
  CHECK(copies.mark(kAlice) == 1);
  copies.keep(kAlice, 2);  // the gap fills: the mark runs over everything held after it
  CHECK(copies.mark(kAlice) == 4);
  CHECK_FALSE(copies.mark(kBob).has_value());  // per author

  auto after = copies.repo().after(copies.channel, kAlice, 1, 2);
  REQUIRE(after.is_ok());
  REQUIRE(after.value().size() == 2);
  CHECK(after.value()[0].seq == 2);
  CHECK(after.value()[1].seq == 3);
  CHECK(after.value()[0].message_id.size() == 16);
  CHECK(after.value()[0].body == Bytes(40, 2));
}

TEST_CASE("ChannelCopyRepo: a member's mark acknowledges only our messages queued for it") {
  Copies copies;
  std::vector<int64_t> rows;
  for (int64_t seq = 1; seq <= 5; ++seq) rows.push_back(copies.keep(kAlice, seq));
  storage::OutboxRepo outbox(*copies.db);
  for (int64_t row : rows) REQUIRE(outbox.add(row, kBob, Bytes(8, 1)).is_ok());
  REQUIRE(outbox.add(rows[0], "someone else", Bytes(8, 1)).is_ok());
  REQUIRE(outbox.remove(rows[1], kBob).is_ok());  // bob's receipt for 2 came already
  auto waiting = copies.repo().waiting_through(copies.channel, kAlice, 3, kBob);
  REQUIRE(waiting.is_ok());
  CHECK(waiting.value() == std::vector<int64_t>{rows[0], rows[2]});
}

TEST_CASE("ChannelCopyRepo: copies are trimmed to the newest, the archive keeps everything") {
  Copies copies;
  for (int64_t seq = 1; seq <= 10; ++seq) copies.keep(kAlice, seq);
  REQUIRE(copies.repo().trim(copies.channel, kAlice, 4).is_ok());
  auto left = copies.repo().after(copies.channel, kAlice, 0, 100);
  REQUIRE(left.is_ok());
  REQUIRE(left.value().size() == 4);
  CHECK(left.value().front().seq == 7);
  CHECK(copies.mark(kAlice) == 10);
  auto archived = storage::MessageRepo(*copies.db).recent("#ops", 100);
  REQUIRE(archived.is_ok());
  CHECK(archived.value().size() == 10);
}

TEST_CASE("ChannelCopyRepo: a newcomer's floor comes before the key's, and rotation clears it") {
  Copies copies;
  ChannelCopyRepo repo = copies.repo();
  REQUIRE(repo.set_floor(copies.channel, "", 10, 2).is_ok());
  REQUIRE(repo.set_floor(copies.channel, kBob, 25, 3).is_ok());
  auto bob = repo.floor(copies.channel, kBob);
  REQUIRE(bob.is_ok());
  CHECK(bob.value().seq == 25);
  CHECK(bob.value().epoch == 3);
  CHECK(repo.floor(copies.channel, kAlice).value().seq == 10);
  REQUIRE(repo.clear_floors(copies.channel).is_ok());
  CHECK(repo.floor(copies.channel, kBob).value().seq == 10);
}

TEST_CASE("ChannelCopyRepo: signed keys are kept for as many generations as copies span") {
  Copies copies;
  ChannelCopyRepo repo = copies.repo();
  const int64_t newest = ChannelCopyRepo::kKeptKeys + 6;
  for (int64_t generation = 1; generation <= newest; ++generation) {
    REQUIRE(repo.keep_key(copies.channel, kAlice, generation, generation, Bytes(70, 1)).is_ok());
  }
  // A member back from 20,000 messages away (the copies kept) needs keys 20 generations old.
  CHECK(ChannelCopyRepo::kKeptKeys >= 20'000 / 1000 + 1);
  auto oldest_kept = repo.key(copies.channel, kAlice, newest - ChannelCopyRepo::kKeptKeys + 1);
  REQUIRE(oldest_kept.is_ok());
  CHECK(oldest_kept.value().has_value());
  auto dropped = repo.key(copies.channel, kAlice, newest - ChannelCopyRepo::kKeptKeys);
  REQUIRE(dropped.is_ok());
  CHECK_FALSE(dropped.value().has_value());
  auto other = repo.key(copies.channel, kBob, newest);
  REQUIRE(other.is_ok());
  CHECK_FALSE(other.value().has_value());
}
