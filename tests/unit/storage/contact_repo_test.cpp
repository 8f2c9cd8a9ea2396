// ContactRepo's lookups by what a user types: a contact name, or the start of a fingerprint.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sotto/storage/contact_repo.h"
#include "sotto/storage/database.h"
#include "storage/migrations.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using storage::ContactRecord;
using storage::ContactRepo;

namespace {

std::unique_ptr<storage::Database> create_db(const std::string& path) {
  SecretBytes key(32);
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(i * 5 + 3);
  auto db = storage::Database::open(path, key, storage::Database::Mode::kCreate);
  REQUIRE(db.is_ok());
  REQUIRE(storage::migrate(*db.value()).is_ok());
  return std::move(db).value();
}

// A 64-digit fingerprint that starts with `start`.
std::string fingerprint(const std::string& start) {
  return start + std::string(64 - start.size(), '0');
}

void add(ContactRepo& repo, const std::string& fp, const std::string& name) {
  ContactRecord contact;
  contact.fingerprint = fp;
  contact.name = name;
  contact.identity_key = Bytes(33, 0x05);
  contact.added_at = 1;
  REQUIRE(repo.upsert(contact).is_ok());
}

std::vector<std::string> fingerprints_of(const Result<std::vector<ContactRecord>>& found) {
  REQUIRE(found.is_ok());
  std::vector<std::string> out;
  for (const auto& c : found.value()) out.push_back(c.fingerprint);
  return out;
}

}  // namespace

TEST_CASE("ContactRepo: with_name finds every contact of that name and only those") {
  test::TempDir tmp;
  auto db = create_db(tmp / "p.db");
  ContactRepo repo(*db);
  add(repo, fingerprint("aa"), "bob");
  add(repo, fingerprint("bb"), "bobby");
  add(repo, fingerprint("cc"), "bob");
  add(repo, fingerprint("dd"), "Bob");

  CHECK(fingerprints_of(repo.with_name("bob")) ==
        std::vector<std::string>{fingerprint("aa"), fingerprint("cc")});
  CHECK(fingerprints_of(repo.with_name("Bob")) == std::vector<std::string>{fingerprint("dd")});
  CHECK(fingerprints_of(repo.with_name("bo")).empty());
}

TEST_CASE("ContactRepo: with_fingerprint_prefix matches the prefix and nothing beside it") {
  test::TempDir tmp;
  auto db = create_db(tmp / "p.db");
  ContactRepo repo(*db);
  add(repo, fingerprint("ab10"), "one");
  add(repo, fingerprint("ab1f"), "two");
  add(repo, fingerprint("ab2"), "three");
  add(repo, fingerprint("aa"), "four");
  add(repo, fingerprint("ff"), "five");

  CHECK(fingerprints_of(repo.with_fingerprint_prefix("ab1")) ==
        std::vector<std::string>{fingerprint("ab10"), fingerprint("ab1f")});
  CHECK(fingerprints_of(repo.with_fingerprint_prefix("ab1f")) ==
        std::vector<std::string>{fingerprint("ab1f")});
  CHECK(fingerprints_of(repo.with_fingerprint_prefix("ab")).size() == 3);
  // The last hex digit has no successor digit: the range must still end after it.
  CHECK(fingerprints_of(repo.with_fingerprint_prefix("f")) ==
        std::vector<std::string>{fingerprint("ff")});
  CHECK(fingerprints_of(repo.with_fingerprint_prefix(fingerprint("ab1f"))) ==
        std::vector<std::string>{fingerprint("ab1f")});
  CHECK(fingerprints_of(repo.with_fingerprint_prefix("ac")).empty());
}
