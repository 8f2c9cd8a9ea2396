#include "storage/migrations.h"

#include <string>

namespace sotto::storage {
namespace {

struct Migration {
  int64_t version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
#include "sotto_migrations.inc"
};

}  // namespace

int64_t latest_schema_version() {
  return kMigrations[std::size(kMigrations) - 1].version;
}

Status migrate(Database& db) {
  return migrate_to(db, latest_schema_version());
}

Status migrate_to(Database& db, int64_t version) {
  SOTTO_ASSIGN_OR_RETURN(int64_t current, db.user_version());
  if (current > latest_schema_version()) {
    return Status::invalid_argument("profile was written by a newer sotto (schema " +
                                    std::to_string(current) + "); upgrade sotto");
  }
  for (const Migration& migration : kMigrations) {
    if (migration.version <= current || migration.version > version) continue;
    Transaction tx(db);
    SOTTO_RETURN_IF_ERROR(tx.begin_status());
    SOTTO_RETURN_IF_ERROR(
        db.exec_script(migration.sql)
            .with_context("applying migration " + std::to_string(migration.version)));
    SOTTO_RETURN_IF_ERROR(db.set_user_version(migration.version));
    SOTTO_RETURN_IF_ERROR(tx.commit());
  }
  return Status::ok();
}

OpenCheck profile_open_check() {
  OpenCheck check;
  // messages and its indexes, the voice clips' Opus packets, and the search index's segments.
  // (message_search_segdir and _stat stay: a few dozen rows, the index's roots.)
  check.lazy_tables = {"messages", "voice_clips", "message_search_segments"};
  return check;
}

}  // namespace sotto::storage
