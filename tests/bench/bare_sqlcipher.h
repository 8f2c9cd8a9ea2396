// Bare SQLCipher for the `_bare` twins: a raw key, the archive's table as sotto's first schema has
// it and Signal's session table, and nothing of sotto's storage layer in between: no Database,
// Statement or repository, no migrations or checks.
//
// A twin is a floor only if it runs SQLCipher as sotto does, so every setting is sotto's
// (storage/database.cpp): its write-buffer VFS (a commit's log frames in one write), 1 KiB
// pages, EXCLUSIVE locking (no shared-memory WAL index, no file locks per transaction), a
// 32 MiB page cache, secure_delete, and no automatic checkpoint on the commit path (sotto
// checkpoints at quiet moments, and only past Database::kWalFramesLimit on the path itself).
// With SQLCipher's defaults instead, sotto's archive inserts ran at twice their "bare" twin's
// rate: the twin measured the defaults, not the library's floor.
#pragma once

#define SQLITE_HAS_CODEC 1
#include <sqlcipher/sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "sotto/base/bytes.h"
#include "storage/wal_write_buffer.h"

namespace sotto::bench {

// Database::kWalFramesLimit: where sotto checkpoints inside a commit, its log being that long.
constexpr int kWalFramesLimit = 16384;

// synchronous=NORMAL: a commit reaches the WAL file without an fsync; FULL: each commit
// fsyncs the WAL, as sotto's send and receive paths do (Messenger::start).
enum class Sync { kNormal, kFull };

[[noreturn]] inline void sqlite_failed(sqlite3* db, const std::string& what) {
  std::fprintf(stderr, "bench: bare SQLCipher: %s: %s\n", what.c_str(), sqlite3_errmsg(db));
  std::exit(1);
}

inline void bare_exec(sqlite3* db, const std::string& sql) {
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) sqlite_failed(db, sql);
}

// Opens the SQLCipher file at `path` with `key_text` ("x'<hex>'", a raw key) and sotto's
// settings, reading it once (where a wrong key shows).
inline sqlite3* open_bare_keyed(const std::string& path, const std::string& key_text, Sync sync,
                                int flags = SQLITE_OPEN_READWRITE) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags, storage::wal_write_buffer_vfs()) != SQLITE_OK) {
    sqlite_failed(db, "open " + path);
  }
  sqlite3_key(db, key_text.data(), static_cast<int>(key_text.size()));
  // Before the first read, as in Database::configure.
  bare_exec(db, "PRAGMA cipher_page_size = 1024; PRAGMA locking_mode = EXCLUSIVE;");
  bare_exec(db, "SELECT count(*) FROM sqlite_master;");
  bare_exec(db, std::string("PRAGMA journal_mode = WAL; PRAGMA synchronous = ") +
                    (sync == Sync::kFull ? "FULL" : "NORMAL") +
                    "; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
                    " PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;"
                    " PRAGMA wal_autocheckpoint = " +
                    std::to_string(kWalFramesLimit) + ";");
  return db;
}

// A new file with a fixed key and the twins' tables.
inline sqlite3* open_bare_sqlcipher(const std::string& path, Sync sync) {
  sqlite3* db = open_bare_keyed(path, "x'" + std::string(64, 'a') + "'", sync,
                                SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  bare_exec(db,
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id BLOB NOT NULL,"
            " conversation TEXT NOT NULL, sender TEXT NOT NULL, outgoing INTEGER NOT NULL,"
            " kind INTEGER NOT NULL, body TEXT NOT NULL, sent_at INTEGER NOT NULL,"
            " received_at INTEGER NOT NULL, state INTEGER NOT NULL,"
            " UNIQUE (sender, message_id));"
            "CREATE INDEX messages_by_conversation ON messages (conversation, id);"
            "CREATE TABLE signal_sessions (address TEXT NOT NULL, device_id INTEGER NOT NULL,"
            " record BLOB NOT NULL, user_record BLOB, PRIMARY KEY (address, device_id));");
  return db;
}

inline sqlite3_stmt* bare_prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) sqlite_failed(db, sql);
  return stmt;
}

// ?1 message_id, ?2 conversation, ?3 sender, ?4 outgoing, ?5 kind, ?6 body, ?7 sent_at,
// ?8 received_at, ?9 state.
inline sqlite3_stmt* prepare_bare_insert(sqlite3* db) {
  return bare_prepare(db,
                      "INSERT OR IGNORE INTO messages (message_id, conversation, sender, "
                      "outgoing, kind, body, sent_at, received_at, state) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
}

// BEGIN IMMEDIATE and COMMIT as statements prepared once, as sotto's Transaction runs them
// (Database::begin): parsing them again for each transaction, as sqlite3_exec does, cost the
// "bare" archive inserts a fifth of their rate.
class BareTransactions {
 public:
  explicit BareTransactions(sqlite3* db)
      : db_(db), begin_(bare_prepare(db, "BEGIN IMMEDIATE")), commit_(bare_prepare(db, "COMMIT")) {}
  ~BareTransactions() {
    sqlite3_finalize(begin_);
    sqlite3_finalize(commit_);
  }
  BareTransactions(const BareTransactions&) = delete;
  BareTransactions& operator=(const BareTransactions&) = delete;

  void begin() { step(begin_, "BEGIN IMMEDIATE"); }
  void commit() { step(commit_, "COMMIT"); }

 private:
  void step(sqlite3_stmt* stmt, const char* what) {
    if (sqlite3_step(stmt) != SQLITE_DONE) sqlite_failed(db_, what);
    sqlite3_reset(stmt);
  }

  sqlite3* db_;
  sqlite3_stmt* begin_;
  sqlite3_stmt* commit_;
};

// What sotto's Signal store writes when a ratchet moves, in the same SQL: an UPDATE OR FAIL of
// the row in place, and an INSERT only for a new session. (INSERT OR REPLACE would move the row,
// rewriting its index page too: twice the pages to encrypt per commit. That is sotto's finding
// in storage/signal_repo.cpp, and a twin that missed it would be no floor.)
struct BareSessionStore {
  sqlite3* db;
  sqlite3_stmt* update;  // ?1 address, ?2 device_id, ?3 record
  sqlite3_stmt* insert;

  explicit BareSessionStore(sqlite3* database)
      : db(database),
        update(bare_prepare(db,
                            "UPDATE OR FAIL signal_sessions SET record = ?3 "
                            "WHERE address = ?1 AND device_id = ?2")),
        insert(bare_prepare(db,
                            "INSERT INTO signal_sessions (address, device_id, record) "
                            "VALUES (?1, ?2, ?3)")) {}
  ~BareSessionStore() {
    sqlite3_finalize(update);
    sqlite3_finalize(insert);
  }
  BareSessionStore(const BareSessionStore&) = delete;
  BareSessionStore& operator=(const BareSessionStore&) = delete;

  void store(const std::string& address, int device, ByteView record) {
    if (run(update, address, device, record) > 0) return;
    run(insert, address, device, record);
  }

 private:
  int run(sqlite3_stmt* stmt, const std::string& address, int device, ByteView record) {
    sqlite3_bind_text(stmt, 1, address.data(), static_cast<int>(address.size()), SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, device);
    sqlite3_bind_blob(stmt, 3, record.data(), static_cast<int>(record.size()), SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_DONE) sqlite_failed(db, "store session");
    sqlite3_reset(stmt);
    return sqlite3_changes(db);
  }
};

}  // namespace sotto::bench
