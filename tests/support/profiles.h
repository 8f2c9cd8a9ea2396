// Test profiles: created with the fast (interactive) KDF in a TempDir.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sotto/base/secret.h"
#include "sotto/core/account.h"
#include "tests/support/temp_dir.h"

namespace sotto::test {

// What create_account and open_account use unless told otherwise.
inline constexpr const char* kTestPassphrase = "correct horse";

inline SecretBytes passphrase(const std::string& text) {
  return SecretBytes::copy_of(text);
}

// REQUIRES: the call succeeds (the test fails loudly otherwise).
std::unique_ptr<core::Account> create_account(const std::string& dir, const std::string& name,
                                              const std::string& pass = kTestPassphrase);
std::unique_ptr<core::Account> open_account(const std::string& dir,
                                            const std::string& pass = kTestPassphrase);

// Writes `count` received texts into `account`'s archive in one transaction, through the storage
// layer alone (a big archive in a second, no node involved): text n reads `body(n)`, was sent at
// 1'700'000'000'000 + n ms, and comes from one made-up conversation.
// REQUIRES: the writes succeed (throws otherwise).
void insert_texts(core::Account& account, int64_t count,
                  const std::function<std::string(int64_t)>& body);

}  // namespace sotto::test
