// Database: one SQLCipher connection with cached, RAII prepared statements.
//
// Every SQL statement in sotto goes through Statement with bound parameters; no SQL is built from
// strings. The connection is opened with a raw 32-byte key (never SQLCipher's own passphrase
// KDF), checks that SQLCipher really is the library linked (plain SQLite would silently ignore the
// key and write plaintext), and verifies pages before they are used (see OpenCheck).
// Thread-safety: a Database and its statements belong to one thread (the node's event loop or a
// one-shot command); nothing here locks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/secret.h"
#include "sotto/base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sotto::storage {

class Database;

// A prepared statement. Parameters are 1-based as in SQLite. Move-only.
class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, ByteView blob);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind_null(int index);

  // Advances: true while a row is available, false when done.
  Result<bool> step();
  // Runs a statement that returns no rows (or ignores them) and resets it.
  Status run();
  // Resets and clears bindings so the statement can be reused.
  void reset();

  int64_t column_int64(int index) const;
  std::string column_text(int index) const;
  Bytes column_blob(int index) const;
  // A blob copied straight into locked memory, for key material.
  SecretBytes column_secret(int index) const;
  bool column_is_null(int index) const;

 private:
  friend class Database;
  Statement(sqlite3_stmt* stmt, Database* db) : stmt_(stmt), db_(db) {}

  sqlite3_stmt* stmt_ = nullptr;
  Database* db_ = nullptr;
  Status bind_status_;
};

enum class Synchronous { kNormal, kFull };

// What Database::open reads, and so verifies, before it returns. SQLCipher checks a page's MAC
// whenever the page is read, so damage is always reported ("database corrupt"), never returned
// as data; this decides what is checked at once, and what when first used.
struct OpenCheck {
  // A database of at most this many pages (1 KiB each) is verified whole: PRAGMA quick_check
  // reads every page and checks every b-tree (about 10 ms per MiB here).
  int64_t full_check_max_pages = 4096;
  // A larger one: every page of every table and index is read at once except these tables'
  // (and their indexes'), which grow with use and are verified page by page as they are read.
  // Empty: quick_check whatever the size.
  std::vector<std::string> lazy_tables;
};

class Database {
 public:
  enum class Mode { kOpenExisting, kCreate };

  // Opens the SQLCipher file at `path` with `key` (32 bytes).
  // Errors: Corruption ("database corrupt") when the file is not a database this key opens or a
  // page fails its check; Unavailable when SQLCipher is not the linked library; IoError otherwise.
  // `check` says how much of an existing database is verified before open returns.
  static Result<std::unique_ptr<Database>> open(const std::string& path, const SecretBytes& key,
                                                Mode mode, const OpenCheck& check = OpenCheck{});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // A statement cached by its SQL text: prepared once, reset before it is handed out again.
  // The reference stays valid until the Database is destroyed.
  Result<Statement*> prepare(std::string_view sql);
  // Runs a script of statements without parameters (migrations, pragmas with constant values).
  Status exec_script(std::string_view sql);

  Status begin_immediate();
  Status commit();
  Status rollback();
  bool in_transaction() const;
  // A nested unit inside a transaction: one received message whose failure must not undo the
  // others in the same batch. Names are fixed by the caller, never user text.
  Status savepoint();
  Status release_savepoint();
  Status rollback_to_savepoint();
  // Rows changed on this connection, less those a rolled-back savepoint undid: if it moved
  // during an operation, the operation left a change behind.
  int64_t changes_kept() const;

  Status set_synchronous(Synchronous mode);
  // Copies every page in the write-ahead log into the database file and empties the log, so
  // that neither keeps an older image of a page (what deleted rows leave behind). Outside a
  // transaction.
  Status checkpoint();
  // Copies the write-ahead log into the database file once it holds `frames` pages or more
  // (a page per frame), without waiting for anything. For a moment when nothing else waits:
  // SQLite's own checkpoint is off (see on_wal_commit).
  Status checkpoint_if_grown(int64_t frames);
  int64_t wal_frames() const { return wal_frames_; }
  // Re-encrypts every page under `new_key`.
  Status rekey(const SecretBytes& new_key);

  Result<int64_t> user_version();
  Status set_user_version(int64_t version);
  int64_t last_insert_rowid() const;
  int changes() const;

  // Converts an SQLite result code on this connection into a Status with a user-facing message.
  Status status_from_sqlite(int rc, std::string_view what) const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  Status configure(const SecretBytes& key, Mode mode, const OpenCheck& check);
  // Reads and so verifies the pages `check` asks for; Corruption when one fails.
  Status verify(const OpenCheck& check);
  // Steps `sql` (uncached) to its end.
  Status read_all(const std::string& sql);

  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);
  static constexpr int kWalFramesLimit = 16384;

  sqlite3* db_ = nullptr;
  std::map<std::string, Statement, std::less<>> cache_;
  int64_t wal_frames_ = 0;                  // pages in the write-ahead log after the last commit
  std::vector<int64_t> savepoint_changes_;  // total changes when each open savepoint began
  int64_t changes_undone_ = 0;
};

// Begins an IMMEDIATE transaction; rolls back on destruction unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // The result of BEGIN; check it before using the transaction.
  const Status& begin_status() const { return begin_status_; }
  Status commit();

 private:
  Database& db_;
  Status begin_status_;
  bool open_ = false;
};

}  // namespace sotto::storage
