// Schema migrations, forward only, keyed by PRAGMA user_version. The SQL lives in
// storage/migrations/NNNN_name.sql and is compiled into the binary.
#pragma once

#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

int64_t latest_schema_version();
// Applies every migration newer than the database's user_version, each in its own transaction.
// Errors: InvalidArgument when the database is newer than this program knows.
Status migrate(Database& db);

}  // namespace sotto::storage
