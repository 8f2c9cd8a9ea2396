// Test profiles: created with the fast (interactive) KDF in a TempDir.
#pragma once

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

}  // namespace sotto::test
