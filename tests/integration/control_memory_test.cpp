// A daemon that answers one very large request (the whole history of a big archive, as
// `sotto history --limit 1000000` asks for) gives the memory of that reply back afterwards: a
// node that runs for months must not stay at the size of the largest request it ever served.
// (Found by the partition soak: both daemons sat at 520 MiB after a history of 120,000 texts.)
#include <catch2/catch.hpp>
#include <string>

#include "sotto/core/account.h"
#include "sotto/storage/contact_repo.h"
#include "sotto/storage/message_repo.h"
#include "src/core/account_internals.h"
#include "tests/support/adversary.h"
#include "tests/support/daemon.h"
#include "tests/support/sanitizers.h"
#include "tests/support/skip.h"
#include "tests/support/temp_dir.h"

using namespace sotto;
using namespace sotto::test;

namespace {

constexpr int kMessages = 60'000;
// What the daemon may keep over its idle size once the reply is sent: its page cache (32 MiB)
// filled by the read, and the allocator's slack. The reply itself needs several times more.
constexpr uint64_t kKeptBoundKib = 48 * 1024;

// Archives kMessages texts from a made-up contact, offline, in one transaction.
void fill_archive(const DaemonProfile& profile) {
  auto account = core::Account::open(profile.dir(), SecretBytes::copy_of(profile.passphrase()));
  REQUIRE(account.is_ok());
  storage::Database& db = core::AccountInternals::db(*account.value());
  storage::ContactRecord contact;
  contact.fingerprint = std::string(64, 'c');
  contact.name = "carol";
  contact.identity_key = Bytes(33, 7);
  contact.added_at = 1;
  REQUIRE(storage::ContactRepo(db).upsert(contact).is_ok());
  storage::Transaction tx(db);
  REQUIRE(tx.begin_status().is_ok());
  storage::MessageRepo messages(db);
  for (int i = 0; i < kMessages; ++i) {
    storage::MessageRecord m;
    m.message_id = Bytes(16, 0);
    for (int b = 0; b < 4; ++b) m.message_id[b] = static_cast<uint8_t>(i >> (8 * b));
    m.conversation = m.sender = contact.fingerprint;
    m.body = "a line of an ordinary conversation, number " + std::to_string(i);
    m.sent_at = m.received_at = 1'700'000'000'000 + i;
    m.state = storage::MessageState::kReceived;
    REQUIRE(messages.insert(m).is_ok());
  }
  REQUIRE(tx.commit().is_ok());
}

}  // namespace

TEST_CASE("a daemon gives back the memory of a very large reply once it is sent",
          "[integration][daemon]") {
  DaemonProfile alice("alice");
  fill_archive(alice);
  alice.start();
  const uint64_t idle = rss_kib(alice.pid());
  REQUIRE(idle > 0);
  const auto history = alice.history();
  CHECK(history.size() == static_cast<size_t>(kMessages));
  const uint64_t after = rss_kib(alice.pid());
  WARN("daemon RSS: " << idle / 1024 << " MiB idle, " << after / 1024 << " MiB after a history of "
                      << history.size() << " messages");
  CHECK_UNLESS(kSanitized, "memory bound under a sanitizer", after <= idle + kKeptBoundKib);
  // And it still serves.
  CHECK(alice.request({{"cmd", "stats"}}).value("ok", false));
}
