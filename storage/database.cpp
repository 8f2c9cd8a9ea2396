#include "sotto/storage/database.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#define SQLITE_HAS_CODEC 1
#include <sqlcipher/sqlite3.h>

#include "storage/wal_write_buffer.h"

namespace sotto::storage {
namespace {

constexpr size_t kKeySize = 32;

// One place that turns SQLite's codes into the categories callers act on.
Status status_from_code(int rc, std::string_view what, const char* detail) {
  const std::string prefix = std::string(what) + ": ";
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::ok();
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status::corruption("database corrupt");
    case SQLITE_FULL:
      return Status::storage_full("storage full: " + std::string(what));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::busy(prefix + "database is busy");
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::permission_denied(prefix + detail);
    case SQLITE_CONSTRAINT:
      return Status::invalid_argument(prefix + detail);
    case SQLITE_NOMEM:
      return Status::internal(prefix + "out of memory");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Status::io_error(prefix + detail);
    default:
      // A schema page that fails SQLCipher's HMAC reaches the schema parser as garbage, which
      // SQLite 3.15 reports as a plain error, not as SQLITE_CORRUPT.
      if (detail != nullptr &&
          std::string_view(detail).find("malformed database schema") != std::string_view::npos) {
        return Status::corruption("database corrupt");
      }
      return Status::internal(prefix + detail);
  }
}

// SQLCipher's raw-key form x'<64 hex>': the bytes are the key and its PBKDF2 is skipped.
SecretBytes raw_key_text(const SecretBytes& key) {
  static constexpr char kHex[] = "0123456789abcdef";
  SecretBytes text(3 + 2 * key.size());
  uint8_t* out = text.data();
  *out++ = 'x';
  *out++ = '\'';
  for (size_t i = 0; i < key.size(); ++i) {
    *out++ = static_cast<uint8_t>(kHex[key.data()[i] >> 4]);
    *out++ = static_cast<uint8_t>(kHex[key.data()[i] & 0x0f]);
  }
  *out = '\'';
  return text;
}

bool file_is_empty_or_missing(const std::string& path, bool& missing) {
  struct stat st {};
  missing = ::stat(path.c_str(), &st) != 0;
  return missing || st.st_size == 0;
}

}  // namespace

// --- Statement ---------------------------------------------------------------------------------

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(std::exchange(other.db_, nullptr)),
      bind_status_(std::move(other.bind_status_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
    db_ = std::exchange(other.db_, nullptr);
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.is_ok()) bind_status_ = db_->status_from_sqlite(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.is_ok()) bind_status_ = db_->status_from_sqlite(rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, ByteView blob) {
  // A zero-length blob must still be a blob, not NULL: sqlite binds NULL for a null pointer.
  static const uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  int rc = sqlite3_bind_blob(stmt_, index, data, static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.is_ok()) bind_status_ = db_->status_from_sqlite(rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.is_ok()) bind_status_ = db_->status_from_sqlite(rc, "bind");
  return *this;
}

Result<bool> Statement::step() {
  if (!bind_status_.is_ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status status = db_->status_from_sqlite(rc, "query");
  sqlite3_reset(stmt_);
  return status;
}

Status Statement::run() {
  Result<bool> row = step();
  reset();
  return row.status();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = Status::ok();
}

int64_t Statement::column_int64(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

std::string Statement::column_text(int index) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, index));
  return text == nullptr ? std::string() : std::string(text, sqlite3_column_bytes(stmt_, index));
}

Bytes Statement::column_blob(int index) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, index));
  const int size = sqlite3_column_bytes(stmt_, index);
  return data == nullptr ? Bytes() : Bytes(data, data + size);
}

SecretBytes Statement::column_secret(int index) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, index));
  const int size = sqlite3_column_bytes(stmt_, index);
  return data == nullptr
             ? SecretBytes()
             : SecretBytes::copy_of(std::span<const uint8_t>(data, static_cast<size_t>(size)));
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

// --- Database ----------------------------------------------------------------------------------

Result<std::unique_ptr<Database>> Database::open(const std::string& path, const SecretBytes& key,
                                                 Mode mode, const OpenCheck& check) {
  if (key.size() != kKeySize) return Status::invalid_argument("database key must be 32 bytes");
  bool missing = false;
  if (mode == Mode::kOpenExisting && file_is_empty_or_missing(path, missing)) {
    // SQLite would happily treat a missing or empty file as a new, empty database.
    return missing ? Status::not_found("database missing: " + path)
                   : Status::corruption("database corrupt");
  }
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::kCreate) {
    // Created here, owner-only, so the file never exists with a wider mode; SQLite gives its
    // -wal and -shm files the database file's permissions.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Status::io_error("creating " + path + ": " + std::strerror(errno));
    ::close(fd);
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, wal_write_buffer_vfs());
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) return status_from_code(rc, "opening " + path, sqlite3_errstr(rc));
  SOTTO_RETURN_IF_ERROR(db->configure(key, mode, check));
  return db;
}

Status Database::configure(const SecretBytes& key, Mode mode, const OpenCheck& check) {
  sqlite3_extended_result_codes(db_, 1);

  const SecretBytes key_text = raw_key_text(key);
  int rc = sqlite3_key(db_, key_text.data(), static_cast<int>(key_text.size()));
  if (rc != SQLITE_OK) return status_from_sqlite(rc, "setting database key");

  // 1 KiB pages (SQLCipher 3's default): every commit encrypts and MACs each page it touches, so
  // a ratchet step that rewrites a 500-byte session record costs half as much as with 4 KiB
  // pages (measured: 9 vs 18 us per commit). 4 KiB pages did help large batches (text flood +23%,
  // channel fan-out +35%) but cost single-row commits 26% and the Signal round trip 27% (3.0x its
  // bare twin, over its target), and left one-message latency where it was. Exclusive locking: the
  // profile lock already keeps every other process out, and without the shared-memory WAL index
  // each transaction saves its file-lock system calls (and no -shm file is created). Both must
  // precede the first read.
  SOTTO_RETURN_IF_ERROR(
      exec_script("PRAGMA cipher_page_size = 1024; PRAGMA locking_mode = EXCLUSIVE;"));
  {
    SOTTO_ASSIGN_OR_RETURN(Statement * version, prepare("PRAGMA cipher_version"));
    SOTTO_ASSIGN_OR_RETURN(bool has_row, version->step());
    const bool is_sqlcipher = has_row && !version->column_text(0).empty();
    version->reset();
    if (!is_sqlcipher)
      return Status::unavailable(
          "SQLCipher is not the linked SQLite library; refusing to store "
          "anything unencrypted");
  }
  // The first read is where a wrong key or a damaged first page shows.
  SOTTO_RETURN_IF_ERROR(exec_script("SELECT count(*) FROM sqlite_master;"));
  if (mode == Mode::kOpenExisting) SOTTO_RETURN_IF_ERROR(verify(check));
  Status status = exec_script(
      "PRAGMA journal_mode = WAL;"
      "PRAGMA synchronous = NORMAL;"
      "PRAGMA foreign_keys = ON;"
      "PRAGMA secure_delete = ON;"
      "PRAGMA temp_store = MEMORY;"
      // Every page read from disk is decrypted and MAC-checked: keep the working set (32 MiB).
      "PRAGMA cache_size = -32768;");
  if (status.is_ok()) sqlite3_wal_hook(db_, &Database::on_wal_commit, this);
  return status;
}

// Replaces SQLite's automatic checkpoint, which runs inside the COMMIT that crosses 1,000 pages:
// on the path of whatever message that commit carried. The owner checkpoints at a quieter
// moment (checkpoint_if_grown); only a log that grows far past that is copied here.
int Database::on_wal_commit(void* self, sqlite3* db, const char* name, int frames) {
  static_cast<Database*>(self)->wal_frames_ = frames;
  if (frames >= kWalFramesLimit) {
    (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  return SQLITE_OK;
}

Status Database::checkpoint_if_grown(int64_t frames) {
  if (wal_frames_ < frames || in_transaction()) return Status::ok();
  wal_frames_ = 0;
  return exec_script("PRAGMA wal_checkpoint(PASSIVE);");
}

namespace {

std::string quoted(const std::string& identifier) {
  std::string out = "\"";
  for (char c : identifier) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

}  // namespace

// Every page carries an HMAC that SQLCipher checks when it reads the page, so reading a page is
// verifying it. Small databases get PRAGMA quick_check: every page, and every b-tree's structure,
// now rather than in the middle of some later operation. quick_check reads every page, so its
// cost grows with the archive (5 s for a million messages here); past full_check_max_pages the
// tables that grow without bound are left to be verified as they are read, and everything else
// (the schema, identity, keys, Signal sessions, contacts, channels, the outbox: what the node
// needs to run at all) is still read whole, now.
Status Database::verify(const OpenCheck& check) {
  SOTTO_ASSIGN_OR_RETURN(Statement * count, prepare("PRAGMA page_count"));
  SOTTO_ASSIGN_OR_RETURN(bool counted, count->step());
  const int64_t pages = counted ? count->column_int64(0) : 0;
  count->reset();
  if (check.lazy_tables.empty() || pages <= check.full_check_max_pages) {
    SOTTO_ASSIGN_OR_RETURN(Statement * quick, prepare("PRAGMA quick_check"));
    SOTTO_ASSIGN_OR_RETURN(bool has_row, quick->step());
    const bool healthy = has_row && quick->column_text(0) == "ok";
    quick->reset();
    return healthy ? Status::ok() : Status::corruption("database corrupt");
  }

  struct Btree {
    bool index = false;
    std::string name;
    std::string table;
  };
  std::vector<Btree> btrees;
  {
    // Reading the schema verifies its pages; virtual tables (rootpage 0) have no b-tree of
    // their own: their shadow tables are listed on their own.
    SOTTO_ASSIGN_OR_RETURN(
        Statement * schema,
        prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE rootpage > 0 ORDER BY name"));
    for (;;) {
      SOTTO_ASSIGN_OR_RETURN(bool has_row, schema->step());
      if (!has_row) break;
      btrees.push_back(
          {schema->column_text(0) == "index", schema->column_text(1), schema->column_text(2)});
    }
    schema->reset();
  }
  for (const Btree& btree : btrees) {
    if (std::find(check.lazy_tables.begin(), check.lazy_tables.end(), btree.table) !=
        check.lazy_tables.end()) {
      continue;
    }
    // Identifiers from our own schema, quoted; no value is ever spliced in. Every column is
    // fetched so that overflow pages are read too.
    if (!btree.index) {
      SOTTO_RETURN_IF_ERROR(read_all("SELECT * FROM " + quoted(btree.name) + " NOT INDEXED"));
      continue;
    }
    std::string columns;
    {
      // PRAGMA takes no bound parameters; the name is quoted as above.
      sqlite3_stmt* raw = nullptr;
      const std::string sql = "PRAGMA index_info(" + quoted(btree.name) + ")";
      int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr);
      if (rc != SQLITE_OK) return status_from_sqlite(rc, "reading the schema");
      Statement info(raw, this);
      for (;;) {
        SOTTO_ASSIGN_OR_RETURN(bool has_row, info.step());
        if (!has_row) break;
        if (info.column_is_null(2)) continue;  // an expression: not readable by name
        columns += quoted(info.column_text(2)) + ", ";
      }
    }
    // A full scan of the index alone (it covers every column asked for, rowid included).
    const std::string scan = "SELECT " + columns + "rowid FROM " + quoted(btree.table) +
                             " INDEXED BY " + quoted(btree.name);
    Status read = read_all(scan);
    if (!read.is_ok() && read.code() != StatusCode::kCorruption) {
      // An index the planner cannot scan this way (a partial index, say): check everything.
      return verify(OpenCheck{std::numeric_limits<int64_t>::max(), {}});
    }
    SOTTO_RETURN_IF_ERROR(read);
  }
  return Status::ok();
}

Status Database::read_all(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr);
  if (rc != SQLITE_OK) return status_from_sqlite(rc, "checking the database");
  Statement statement(raw, this);
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, statement.step());
    if (!has_row) return Status::ok();
  }
}

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Result<Statement*> Database::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    it->second.reset();
    return &it->second;
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) return status_from_sqlite(rc, "preparing statement");
  auto [pos, inserted] = cache_.emplace(std::string(sql), Statement(raw, this));
  return &pos->second;
}

Status Database::exec_script(std::string_view sql) {
  const std::string script(sql);
  int rc = sqlite3_exec(db_, script.c_str(), nullptr, nullptr, nullptr);
  return status_from_sqlite(rc, "running SQL");
}

// Transaction control through cached statements: parsing "BEGIN" anew costs more than the
// bookkeeping of a small transaction.
Status Database::begin_immediate() {
  SOTTO_ASSIGN_OR_RETURN(Statement * begin, prepare("BEGIN IMMEDIATE"));
  savepoint_changes_.clear();  // savepoints end with the transaction they were made in
  return begin->run();
}
Status Database::commit() {
  SOTTO_ASSIGN_OR_RETURN(Statement * commit, prepare("COMMIT"));
  return commit->run();
}
Status Database::rollback() {
  if (!in_transaction()) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(Statement * rollback, prepare("ROLLBACK"));
  return rollback->run();
}
Status Database::savepoint() {
  SOTTO_ASSIGN_OR_RETURN(Statement * stmt, prepare("SAVEPOINT unit"));
  SOTTO_RETURN_IF_ERROR(stmt->run());
  savepoint_changes_.push_back(sqlite3_total_changes(db_));
  return Status::ok();
}
Status Database::release_savepoint() {
  SOTTO_ASSIGN_OR_RETURN(Statement * stmt, prepare("RELEASE unit"));
  SOTTO_RETURN_IF_ERROR(stmt->run());
  if (!savepoint_changes_.empty()) savepoint_changes_.pop_back();
  return Status::ok();
}
Status Database::rollback_to_savepoint() {
  SOTTO_ASSIGN_OR_RETURN(Statement * stmt, prepare("ROLLBACK TO unit"));
  SOTTO_RETURN_IF_ERROR(stmt->run());
  if (!savepoint_changes_.empty()) {
    changes_undone_ += sqlite3_total_changes(db_) - savepoint_changes_.back();
  }
  return release_savepoint();
}
int64_t Database::changes_kept() const {
  return sqlite3_total_changes(db_) - changes_undone_;
}

bool Database::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Status Database::checkpoint() {
  SOTTO_RETURN_IF_ERROR(exec_script("PRAGMA wal_checkpoint(TRUNCATE);"));
  wal_frames_ = 0;  // the log is empty now
  return Status::ok();
}

Status Database::set_synchronous(Synchronous mode) {
  return exec_script(mode == Synchronous::kFull ? "PRAGMA synchronous = FULL;"
                                                : "PRAGMA synchronous = NORMAL;");
}

Status Database::rekey(const SecretBytes& new_key) {
  if (new_key.size() != kKeySize) return Status::invalid_argument("database key must be 32 bytes");
  // SQLCipher 3.4 cannot rekey a WAL database; leave WAL for the rewrite and return to it after.
  SOTTO_RETURN_IF_ERROR(exec_script("PRAGMA journal_mode = DELETE;"));
  const SecretBytes key_text = raw_key_text(new_key);
  int rc = sqlite3_rekey(db_, key_text.data(), static_cast<int>(key_text.size()));
  Status status = status_from_sqlite(rc, "re-keying database");
  Status wal = exec_script("PRAGMA journal_mode = WAL;");
  return status.is_ok() ? wal : status;
}

Result<int64_t> Database::user_version() {
  SOTTO_ASSIGN_OR_RETURN(Statement * stmt, prepare("PRAGMA user_version"));
  SOTTO_ASSIGN_OR_RETURN(bool has_row, stmt->step());
  int64_t version = has_row ? stmt->column_int64(0) : 0;
  stmt->reset();
  return version;
}

Status Database::set_user_version(int64_t version) {
  // PRAGMA takes no bound parameters; the value is an integer we produced, not user text.
  return exec_script("PRAGMA user_version = " + std::to_string(version) + ";");
}

int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}
int Database::changes() const {
  return sqlite3_changes(db_);
}

Status Database::status_from_sqlite(int rc, std::string_view what) const {
  return status_from_code(rc, what, db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
}

// --- Transaction -------------------------------------------------------------------------------

Transaction::Transaction(Database& db) : db_(db) {
  begin_status_ = db_.begin_immediate();
  open_ = begin_status_.is_ok();
}

Transaction::~Transaction() {
  if (open_) (void)db_.rollback();
}

Status Transaction::commit() {
  if (!open_)
    return begin_status_.is_ok() ? Status::internal("transaction already ended") : begin_status_;
  Status status = db_.commit();
  if (status.is_ok()) {
    open_ = false;
  } else {
    (void)db_.rollback();
    open_ = false;
  }
  return status;
}

}  // namespace sotto::storage
