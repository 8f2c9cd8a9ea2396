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
// The same, stopping at schema `version`: a database as an older sotto left it (for tests).
Status migrate_to(Database& db, int64_t version);

// How a profile's database is checked when it opens (Database::OpenCheck): the archive's tables
// grow without bound (a million messages is about 500 MiB), so past a few MiB they are verified
// as they are read, not all at open; every other table is read whole at open.
OpenCheck profile_open_check();

}  // namespace sotto::storage
