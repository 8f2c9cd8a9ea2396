// How far the archive's search index lags behind it (migration 0006's watermark).
#pragma once

#include <cstdint>

#include "sotto/storage/database.h"

namespace sotto::test {

// Messages added after the search index's watermark (indexed_through): 0 when it is caught up.
int64_t unindexed_messages(storage::Database& db);

}  // namespace sotto::test
