#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "sotto/storage/message_repo.h"
#include "sotto/storage/profile.h"
#include "storage/profile_header.h"
#include "tests/support/profiles.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using sotto::test::TempDir;

namespace {

constexpr size_t kPageSize = 1024;  // SQLCipher page size set by storage::Database

storage::MessageRecord text_message(const std::string& body, uint8_t id) {
  storage::MessageRecord m;
  m.message_id = Bytes(16, id);
  m.conversation = "peer";
  m.sender = "peer";
  m.body = body;
  m.sent_at = 1;
  m.received_at = 2;
  m.state = storage::MessageState::kReceived;
  return m;
}

Result<std::unique_ptr<storage::Profile>> open_profile(const std::string& dir,
                                                       const std::string& pass) {
  return storage::Profile::open(dir, test::passphrase(pass));
}

std::unique_ptr<storage::Profile> create_profile(const std::string& dir,
                                                 const std::string& pass = "pass") {
  auto profile =
      storage::Profile::create(dir, test::passphrase(pass), storage::KdfParams::interactive());
  REQUIRE(profile.is_ok());
  return std::move(profile).value();
}

}  // namespace

TEST_CASE("a new profile directory is private and holds header, database and lock",
          "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "nested/profile";
  create_profile(dir);
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  for (const char* file : {"sotto.hdr", "sotto.db", "sotto.lock"}) {
    REQUIRE(::stat((dir + "/" + file).c_str(), &st) == 0);
    CHECK((st.st_mode & 077) == 0);
  }
  CHECK(storage::Profile::exists(dir));
}

TEST_CASE("a profile cannot be created twice in the same directory", "[storage][profile]") {
  TempDir tmp;
  { create_profile(tmp / "p"); }
  auto again =
      storage::Profile::create(tmp / "p", test::passphrase("x"), storage::KdfParams::interactive());
  REQUIRE_FALSE(again.is_ok());
  CHECK(again.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a wrong passphrase is refused and leaves every profile file byte-for-byte unchanged",
          "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "p";
  { create_profile(dir, "right"); }
  const auto before = test::digest_files(dir);
  auto opened = open_profile(dir, "wrong");
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == StatusCode::kAuthFailed);
  CHECK(opened.status().message() == "wrong passphrase");
  CHECK(test::digest_files(dir) == before);
  CHECK(open_profile(dir, "right").is_ok());
}

TEST_CASE("after a passphrase change the new passphrase opens the profile and the old does not",
          "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "p";
  {
    auto profile = create_profile(dir, "old");
    storage::MessageRepo repo(profile->db());
    REQUIRE(repo.insert(text_message("kept across re-key", 1)).is_ok());
    REQUIRE(profile->change_passphrase(test::passphrase("new")).is_ok());
  }
  CHECK_FALSE(test::file_contains(dir + "/sotto.db", "kept across re-key"));
  auto old_open = open_profile(dir, "old");
  REQUIRE_FALSE(old_open.is_ok());
  CHECK(old_open.status().code() == StatusCode::kAuthFailed);
  auto reopened = open_profile(dir, "new");
  REQUIRE(reopened.is_ok());
  auto messages = storage::MessageRepo(reopened.value()->db()).recent("", 10);
  REQUIRE(messages.is_ok());
  REQUIRE(messages.value().size() == 1);
  CHECK(messages.value()[0].body == "kept across re-key");
}

TEST_CASE("an interrupted passphrase change leaves a profile that one passphrase still opens",
          "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "p";
  const std::string header = dir + "/sotto.hdr";
  const std::string pending = dir + "/sotto.hdr.new";
  { create_profile(dir, "old"); }
  const Bytes old_header = test::read_file(header);

  SECTION("crash after the re-key, before the new header was put in place") {
    {
      auto profile = open_profile(dir, "old");
      REQUIRE(profile.is_ok());
      REQUIRE(profile.value()->change_passphrase(test::passphrase("new")).is_ok());
    }
    std::filesystem::rename(header, pending);
    test::write_file(header, old_header);
    auto with_old = open_profile(dir, "old");
    REQUIRE_FALSE(with_old.is_ok());
    CHECK(with_old.status().code() == StatusCode::kAuthFailed);
    auto with_new = open_profile(dir, "new");
    REQUIRE(with_new.is_ok());
    CHECK_FALSE(std::filesystem::exists(pending));
    CHECK(test::read_file(header) != old_header);
  }
  SECTION("crash before the re-key") {
    // A pending header for "new" beside a database still under "old".
    auto pending_header = storage::ProfileHeader::fresh(storage::KdfParams::interactive());
    auto key =
        storage::derive_key(test::passphrase("new"), pending_header.salt, pending_header.kdf);
    REQUIRE(key.is_ok());
    pending_header.set_check_for(key.value());
    REQUIRE(pending_header.write_file(pending).is_ok());
    auto with_new = open_profile(dir, "new");
    REQUIRE_FALSE(with_new.is_ok());
    CHECK(with_new.status().code() == StatusCode::kAuthFailed);
    REQUIRE(open_profile(dir, "old").is_ok());
    CHECK_FALSE(std::filesystem::exists(pending));
    CHECK(test::read_file(header) == old_header);
  }
}

TEST_CASE("a marker written into the archive appears in no file of the profile",
          "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "p";
  const std::string marker = "MARKER-7f3a9c-the-eagle-lands-at-dawn";
  auto check_no_marker = [&] {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      INFO(entry.path().string());
      CHECK_FALSE(test::file_contains(entry.path().string(), marker));
    }
  };
  {
    auto profile = create_profile(dir);
    storage::MessageRepo repo(profile->db());
    for (uint8_t i = 0; i < 50; ++i) REQUIRE(repo.insert(text_message(marker, i)).is_ok());
    // While open, the rows sit in the WAL: it must be encrypted too.
    REQUIRE(std::filesystem::exists(dir + "/sotto.db-wal"));
    check_no_marker();
  }
  check_no_marker();
  auto reopened = open_profile(dir, "pass");
  REQUIRE(reopened.is_ok());
  auto messages = storage::MessageRepo(reopened.value()->db()).recent("", 100);
  REQUIRE(messages.is_ok());
  CHECK(messages.value().size() == 50);
}

TEST_CASE("a damaged database is reported as corrupt, without a crash and without a change",
          "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "p";
  {
    auto profile = create_profile(dir);
    storage::MessageRepo repo(profile->db());
    for (uint8_t i = 0; i < 20; ++i) REQUIRE(repo.insert(text_message("row", i)).is_ok());
  }
  const std::string db_path = dir + "/sotto.db";
  const Bytes original = test::read_file(db_path);
  REQUIRE(original.size() > 8192);

  auto expect_corrupt = [&](const Bytes& damaged) {
    test::write_file(db_path, damaged);
    auto opened = open_profile(dir, "pass");
    REQUIRE_FALSE(opened.is_ok());
    INFO(opened.status().message());
    CHECK(opened.status().code() == StatusCode::kCorruption);
    CHECK(opened.status().message().find("database corrupt") != std::string::npos);
    CHECK(test::read_file(db_path) == damaged);
  };

  SECTION("a flipped byte in the first page") {
    Bytes damaged = original;
    damaged[100] ^= 0x01;
    expect_corrupt(damaged);
  }
  SECTION("a flipped byte in a later page") {
    Bytes damaged = original;
    damaged[original.size() - 1024 + 500] ^= 0x80;
    expect_corrupt(damaged);
  }
  SECTION("a flipped byte in every page, one at a time") {
    for (size_t page = 0; page < original.size() / kPageSize; ++page) {
      Bytes damaged = original;
      damaged[page * kPageSize + kPageSize / 2] ^= 0x10;
      INFO("page " << page);
      expect_corrupt(damaged);
    }
  }
  SECTION("a truncated file") {
    expect_corrupt(Bytes(original.begin(), original.begin() + 6000));
  }
  SECTION("a zero-length file") {
    expect_corrupt(Bytes());
  }
  SECTION("random bytes") {
    Bytes noise(original.size());
    uint32_t x = 12345;
    for (auto& b : noise) {
      x = x * 1103515245 + 12345;
      b = static_cast<uint8_t>(x >> 16);
    }
    expect_corrupt(noise);
  }
}

TEST_CASE("a damaged header is reported as corrupt, not as a wrong passphrase",
          "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "p";
  { create_profile(dir); }
  Bytes header = test::read_file(dir + "/sotto.hdr");
  header[header.size() / 2] ^= 0x01;
  test::write_file(dir + "/sotto.hdr", header);
  auto opened = open_profile(dir, "pass");
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == StatusCode::kCorruption);
}

TEST_CASE("a profile open elsewhere is refused with the holder's PID", "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "p";
  auto first = create_profile(dir);
  auto second = open_profile(dir, "pass");
  REQUIRE_FALSE(second.is_ok());
  CHECK(second.status().code() == StatusCode::kBusy);
  CHECK(second.status().message() == "profile in use by PID " + std::to_string(::getpid()));
  first.reset();
  CHECK(open_profile(dir, "pass").is_ok());
}

TEST_CASE("a profile directory that group or others can enter is refused", "[storage][profile]") {
  TempDir tmp;
  const std::string dir = tmp / "p";
  { create_profile(dir); }
  REQUIRE(::chmod(dir.c_str(), 0755) == 0);
  auto opened = open_profile(dir, "pass");
  REQUIRE_FALSE(opened.is_ok());
  CHECK(opened.status().code() == StatusCode::kPermissionDenied);
  CHECK(opened.status().message().find("chmod 700") != std::string::npos);
  REQUIRE(::chmod(dir.c_str(), 0700) == 0);
  CHECK(open_profile(dir, "pass").is_ok());
}

TEST_CASE("the archive stores a resent message once", "[storage][archive]") {
  TempDir tmp;
  auto profile = create_profile(tmp / "p");
  storage::MessageRepo repo(profile->db());
  auto first = repo.insert(text_message("hello", 9));
  auto again = repo.insert(text_message("hello", 9));
  REQUIRE(first.is_ok());
  REQUIRE(again.is_ok());
  CHECK(first.value().has_value());
  CHECK_FALSE(again.value().has_value());
  CHECK(repo.recent("", 10).value().size() == 1);
}

TEST_CASE("changes undone by a rolled-back savepoint do not count as kept", "[storage][archive]") {
  TempDir tmp;
  auto profile = create_profile(tmp / "p");
  storage::Database& db = profile->db();
  storage::MessageRepo repo(db);
  storage::Transaction tx(db);
  REQUIRE(tx.begin_status().is_ok());
  const int64_t start = db.changes_kept();
  REQUIRE(db.savepoint().is_ok());
  REQUIRE(repo.insert(text_message("undone", 1)).is_ok());
  REQUIRE(db.savepoint().is_ok());  // nested, as a control message inside a batch item
  REQUIRE(repo.insert(text_message("undone too", 2)).is_ok());
  REQUIRE(db.release_savepoint().is_ok());
  REQUIRE(db.rollback_to_savepoint().is_ok());
  CHECK(db.changes_kept() == start);
  REQUIRE(repo.insert(text_message("kept", 3)).is_ok());
  CHECK(db.changes_kept() == start + 1);
  REQUIRE(tx.commit().is_ok());
  CHECK(repo.recent("", 10).value().size() == 1);
}
