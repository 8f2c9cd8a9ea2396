// ContactRepo's lookups by what a user types: a contact name, or the start of a fingerprint.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sotto/storage/contact_repo.h"
#include "sotto/storage/database.h"
#include "storage/migrations.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using storage::ContactRecord;
using storage::ContactRepo;

namespace {

// A 64-digit fingerprint that starts with `start`.
std::string fingerprint(const std::string& start) {
  return start + std::string(64 - start.size(), '0');
}

// A fresh profile database holding one contact per (fingerprint start, name).
struct Contacts {
  test::TempDir tmp;
  std::unique_ptr<storage::Database> db;

  explicit Contacts(const std::vector<std::pair<std::string, std::string>>& contacts) {
    SecretBytes key(32);
    for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(i * 5 + 3);
    auto opened = storage::Database::open(tmp / "p.db", key, storage::Database::Mode::kCreate);
    REQUIRE(opened.is_ok());
    db = std::move(opened).value();
    REQUIRE(storage::migrate(*db).is_ok());
    for (const auto& [start, name] : contacts) {
      ContactRecord contact;
      contact.fingerprint = fingerprint(start);
      contact.name = name;
      contact.identity_key = Bytes(33, 0x05);
      contact.added_at = 1;
      REQUIRE(repo().upsert(contact).is_ok());
    }
  }
  ContactRepo repo() { return ContactRepo(*db); }
};

std::vector<std::string> fingerprints_of(const Result<std::vector<ContactRecord>>& found) {
  REQUIRE(found.is_ok());
  std::vector<std::string> out;
  for (const auto& c : found.value()) out.push_back(c.fingerprint);
  return out;
}

}  // namespace

TEST_CASE("ContactRepo: with_name finds every contact of that name and only those") {
  Contacts contacts({{"aa", "bob"}, {"bb", "bobby"}, {"cc", "bob"}, {"dd", "Bob"}});
  ContactRepo repo = contacts.repo();

  CHECK(fingerprints_of(repo.with_name("bob")) ==
        std::vector<std::string>{fingerprint("aa"), fingerprint("cc")});
  CHECK(fingerprints_of(repo.with_name("Bob")) == std::vector<std::string>{fingerprint("dd")});
  CHECK(fingerprints_of(repo.with_name("bo")).empty());
}

TEST_CASE("ContactRepo: with_fingerprint_prefix matches the prefix and nothing beside it") {
  Contacts contacts(
      {{"ab10", "one"}, {"ab1f", "two"}, {"ab2", "three"}, {"aa", "four"}, {"ff", "five"}});
  ContactRepo repo = contacts.repo();

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
