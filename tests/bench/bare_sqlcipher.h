// Bare SQLCipher for the `_bare` twins: a raw key, SQLCipher's defaults, WAL, and the archive's
// table as sotto's first schema has it, with nothing of sotto's storage layer in between.
#pragma once

#define SQLITE_HAS_CODEC 1
#include <sqlcipher/sqlite3.h>

#include <string>

namespace sotto::bench {

// synchronous=NORMAL: a commit reaches the WAL file without an fsync; FULL: each commit
// fsyncs the WAL, as sotto's send and receive paths do.
enum class Sync { kNormal, kFull };

inline sqlite3* open_bare_sqlcipher(const std::string& path, Sync sync) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  const std::string key = "x'" + std::string(64, 'a') + "'";
  sqlite3_key(db, key.data(), static_cast<int>(key.size()));
  sqlite3_exec(db,
               sync == Sync::kFull ? "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                                   : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
               nullptr, nullptr, nullptr);
  sqlite3_exec(db,
               "CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id BLOB NOT NULL,"
               " conversation TEXT NOT NULL, sender TEXT NOT NULL, outgoing INTEGER NOT NULL,"
               " kind INTEGER NOT NULL, body TEXT NOT NULL, sent_at INTEGER NOT NULL,"
               " received_at INTEGER NOT NULL, state INTEGER NOT NULL,"
               " UNIQUE (sender, message_id));"
               "CREATE INDEX messages_by_conversation ON messages (conversation, id);",
               nullptr, nullptr, nullptr);
  return db;
}

// ?1 message_id, ?2 conversation, ?3 sender, ?4 outgoing, ?5 kind, ?6 body, ?7 sent_at,
// ?8 received_at, ?9 state.
inline sqlite3_stmt* prepare_bare_insert(sqlite3* db) {
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT OR IGNORE INTO messages (message_id, conversation, sender, "
                     "outgoing, kind, body, sent_at, received_at, state) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                     -1, &insert, nullptr);
  return insert;
}

}  // namespace sotto::bench
