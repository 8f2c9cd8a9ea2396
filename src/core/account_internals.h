// AccountInternals: core's way to the parts of an Account the front ends never get, the
// profile's database and the Signal engine, for core code and the tests.
// Thread-safety: as the Account's; in a node, the loop thread only.
#pragma once

#include "sotto/core/account.h"
#include "sotto/crypto/held_signal_state.h"
#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/profile.h"

namespace sotto::core {

class AccountInternals {
 public:
  static storage::Profile& profile(Account& account) { return account.profile(); }
  static storage::Database& db(Account& account) { return account.db(); }
  static crypto::SignalEngine& signal(Account& account) { return account.signal(); }
  static crypto::HeldSignalState& held_signal(Account& account) { return account.held_signal(); }
};

}  // namespace sotto::core
