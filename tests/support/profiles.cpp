#include "tests/support/profiles.h"

#include <stdexcept>

#include "sotto/storage/message_repo.h"
#include "src/core/account_internals.h"

namespace sotto::test {

std::unique_ptr<core::Account> create_account(const std::string& dir, const std::string& name,
                                              const std::string& pass) {
  auto account =
      core::Account::create(dir, passphrase(pass), name, storage::KdfParams::interactive());
  if (!account.is_ok()) throw std::runtime_error("create_account: " + account.status().message());
  return std::move(account).value();
}

std::unique_ptr<core::Account> open_account(const std::string& dir, const std::string& pass) {
  auto account = core::Account::open(dir, passphrase(pass));
  if (!account.is_ok()) throw std::runtime_error("open_account: " + account.status().message());
  return std::move(account).value();
}

void insert_texts(core::Account& account, int64_t count,
                  const std::function<std::string(int64_t)>& body) {
  storage::MessageRepo repo(core::AccountInternals::db(account));
  storage::Transaction tx(core::AccountInternals::db(account));
  if (!tx.begin_status().is_ok()) throw std::runtime_error("insert_texts: cannot begin");
  for (int64_t n = 0; n < count; ++n) {
    storage::MessageRecord m;
    m.message_id = Bytes(16, 0);
    for (int b = 0; b < 8; ++b) m.message_id[b] = static_cast<uint8_t>(n >> (8 * b));
    m.conversation = std::string(64, 'c');
    m.sender = m.conversation;
    m.body = body(n);
    m.sent_at = 1'700'000'000'000 + n;
    m.received_at = m.sent_at;
    m.state = storage::MessageState::kReceived;
    auto inserted = repo.insert(m);
    if (!inserted.is_ok()) throw std::runtime_error("insert_texts: " + inserted.status().message());
  }
  const Status committed = tx.commit();
  if (!committed.is_ok()) throw std::runtime_error("insert_texts: " + committed.message());
}

}  // namespace sotto::test
