// The write-ahead log's writes are gathered per commit (storage/wal_write_buffer.h): what a
// killed process leaves on disk must still hold every commit that returned.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "sotto/storage/database.h"
#include "tests/support/temp_dir.h"

using namespace sotto;

namespace {

SecretBytes test_key() {
  SecretBytes key(32);
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(i * 5 + 3);
  return key;
}

int64_t count_rows(storage::Database& db) {
  auto select = db.prepare("SELECT count(*), coalesce(sum(length(body)), 0) FROM notes");
  REQUIRE(select.is_ok());
  REQUIRE(select.value()->step().value());
  const int64_t rows = select.value()->column_int64(0);
  select.value()->reset();
  return rows;
}

// What the file system holds right now, as a process killed at this moment would leave it.
void snapshot(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  fs::copy_file(from, to);
  if (fs::exists(from + "-wal")) fs::copy_file(from + "-wal", to + "-wal");
}

}  // namespace

TEST_CASE("every returned commit is in the log's file at once, fsync or not, small or large",
          "[storage][wal]") {
  test::TempDir tmp;
  const std::string path = tmp / "live.db";
  auto opened = storage::Database::open(path, test_key(), storage::Database::Mode::kCreate);
  REQUIRE(opened.is_ok());
  storage::Database& db = *opened.value();
  REQUIRE(
      db.exec_script("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);").is_ok());

  // Without an fsync (synchronous=NORMAL), as the node's relaxed commits are: one row, then a
  // transaction of 400 KiB (several times the buffer), then one row again.
  REQUIRE(db.set_synchronous(storage::Synchronous::kNormal).is_ok());
  auto insert = [&](int rows, size_t bytes) {
    REQUIRE(db.exec_script("BEGIN;").is_ok());
    for (int i = 0; i < rows; ++i) {
      auto add = db.prepare("INSERT INTO notes (body) VALUES (?1)");
      REQUIRE(add.is_ok());
      add.value()->bind(1, std::string(bytes, static_cast<char>('a' + i % 26)));
      REQUIRE(add.value()->run().is_ok());
    }
    REQUIRE(db.exec_script("COMMIT;").is_ok());
  };
  insert(1, 100);
  insert(400, 1000);
  insert(1, 100);
  REQUIRE(count_rows(db) == 402);
  snapshot(path, tmp / "killed.db");

  // The copy is opened while the live database is still open: nothing was flushed by a close.
  auto copy = storage::Database::open(tmp / "killed.db", test_key(),
                                      storage::Database::Mode::kOpenExisting);
  INFO(copy.status().message());
  REQUIRE(copy.is_ok());
  CHECK(count_rows(*copy.value()) == 402);
}
