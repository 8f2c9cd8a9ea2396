// The SQLCipher-backed SignalStateStore: libsignal's records in the profile database.
#pragma once

#include <memory>

#include "sotto/crypto/signal_engine.h"
#include "sotto/storage/database.h"

namespace sotto::crypto {

// REQUIRES: `db` outlives the returned store.
std::unique_ptr<SignalStateStore> make_sql_signal_state(storage::Database& db);

}  // namespace sotto::crypto
