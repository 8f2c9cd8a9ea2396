#include "tests/support/profiles.h"

#include <stdexcept>

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

}  // namespace sotto::test
