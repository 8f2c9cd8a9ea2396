#include "sotto/storage/signal_repo.h"

namespace sotto::storage {
namespace {

Result<std::optional<RecordBlob>> read_record(Statement* select) {
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  if (!has_row) return std::optional<RecordBlob>();
  RecordBlob blob{select->column_blob(0), select->column_blob(1)};
  select->reset();
  return std::optional<RecordBlob>(std::move(blob));
}

}  // namespace

// --- sessions ----------------------------------------------------------------------------------

Result<std::optional<RecordBlob>> SignalRepo::load_session(std::string_view address,
                                                           int32_t device_id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT record, user_record FROM signal_sessions "
                                     "WHERE address = ?1 AND device_id = ?2"));
  select->bind(1, address).bind(2, int64_t{device_id});
  return read_record(select);
}

// Sessions and sender keys are rewritten on every message. An UPDATE in place keeps the row id,
// so only the table page changes; INSERT OR REPLACE would move the row and rewrite the index
// page too, doubling the encrypted pages each commit writes. OR FAIL: for a plain UPDATE SQLite
// keeps a statement journal (an UPDATE may stop half-way through its rows), and SQLCipher
// encrypts every page it puts there; an update of one row by its key has no half-way.
Status SignalRepo::store_session(std::string_view address, int32_t device_id, ByteView record,
                                 ByteView user_record) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare("UPDATE OR FAIL signal_sessions SET record = ?3, user_record = ?4 "
                  "WHERE address = ?1 AND device_id = ?2"));
  update->bind(1, address).bind(2, int64_t{device_id}).bind(3, record).bind(4, user_record);
  SOTTO_RETURN_IF_ERROR(update->run());
  if (db_.changes() > 0) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO signal_sessions (address, device_id, record, user_record) "
                  "VALUES (?1, ?2, ?3, ?4)"));
  insert->bind(1, address).bind(2, int64_t{device_id}).bind(3, record).bind(4, user_record);
  return insert->run();
}

Result<bool> SignalRepo::contains_session(std::string_view address, int32_t device_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT 1 FROM signal_sessions WHERE address = ?1 AND device_id = ?2"));
  select->bind(1, address).bind(2, int64_t{device_id});
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  select->reset();
  return has_row;
}

Result<int> SignalRepo::delete_session(std::string_view address, int32_t device_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * del,
      db_.prepare("DELETE FROM signal_sessions WHERE address = ?1 AND device_id = ?2"));
  del->bind(1, address).bind(2, int64_t{device_id});
  SOTTO_RETURN_IF_ERROR(del->run());
  return db_.changes();
}

Result<int> SignalRepo::delete_all_sessions(std::string_view address) {
  SOTTO_ASSIGN_OR_RETURN(Statement * del,
                         db_.prepare("DELETE FROM signal_sessions WHERE address = ?1"));
  del->bind(1, address);
  SOTTO_RETURN_IF_ERROR(del->run());
  return db_.changes();
}

Result<std::vector<int32_t>> SignalRepo::sub_device_sessions(std::string_view address) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT device_id FROM signal_sessions WHERE address = ?1 AND device_id != 1 "
                  "ORDER BY device_id"));
  select->bind(1, address);
  std::vector<int32_t> devices;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    devices.push_back(static_cast<int32_t>(select->column_int64(0)));
  }
  select->reset();
  return devices;
}

// --- pre-keys and signed pre-keys --------------------------------------------------------------

Result<std::optional<Bytes>> SignalRepo::load_blob(std::string_view sql, uint32_t id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare(sql));
  select->bind(1, int64_t{id});
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  if (!has_row) return std::optional<Bytes>();
  Bytes record = select->column_blob(0);
  select->reset();
  return std::optional<Bytes>(std::move(record));
}

Result<bool> SignalRepo::exists(std::string_view sql, uint32_t id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare(sql));
  select->bind(1, int64_t{id});
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  select->reset();
  return has_row;
}

Result<std::optional<Bytes>> SignalRepo::load_pre_key(uint32_t id) {
  return load_blob("SELECT record FROM signal_pre_keys WHERE id = ?1", id);
}

Status SignalRepo::store_pre_key(uint32_t id, ByteView record) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * upsert,
      db_.prepare("INSERT OR REPLACE INTO signal_pre_keys (id, record) VALUES (?1, ?2)"));
  upsert->bind(1, int64_t{id}).bind(2, record);
  return upsert->run();
}

Result<bool> SignalRepo::contains_pre_key(uint32_t id) {
  return exists("SELECT 1 FROM signal_pre_keys WHERE id = ?1", id);
}

Status SignalRepo::remove_pre_key(uint32_t id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * del, db_.prepare("DELETE FROM signal_pre_keys WHERE id = ?1"));
  del->bind(1, int64_t{id});
  return del->run();
}

Result<int64_t> SignalRepo::count_pre_keys() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare("SELECT count(*) FROM signal_pre_keys"));
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  int64_t count = has_row ? select->column_int64(0) : 0;
  select->reset();
  return count;
}

Result<std::vector<uint32_t>> SignalRepo::pre_key_ids() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT id FROM signal_pre_keys ORDER BY id"));
  std::vector<uint32_t> ids;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    ids.push_back(static_cast<uint32_t>(select->column_int64(0)));
  }
  select->reset();
  return ids;
}

Result<std::optional<Bytes>> SignalRepo::load_signed_pre_key(uint32_t id) {
  return load_blob("SELECT record FROM signal_signed_pre_keys WHERE id = ?1", id);
}

Status SignalRepo::store_signed_pre_key(uint32_t id, ByteView record) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * upsert,
      db_.prepare("INSERT OR REPLACE INTO signal_signed_pre_keys (id, record) VALUES (?1, ?2)"));
  upsert->bind(1, int64_t{id}).bind(2, record);
  return upsert->run();
}

Result<bool> SignalRepo::contains_signed_pre_key(uint32_t id) {
  return exists("SELECT 1 FROM signal_signed_pre_keys WHERE id = ?1", id);
}

Status SignalRepo::remove_signed_pre_key(uint32_t id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * del,
                         db_.prepare("DELETE FROM signal_signed_pre_keys WHERE id = ?1"));
  del->bind(1, int64_t{id});
  return del->run();
}

Result<std::optional<uint32_t>> SignalRepo::latest_signed_pre_key_id() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT max(id) FROM signal_signed_pre_keys"));
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::optional<uint32_t> id;
  if (has_row && !select->column_is_null(0)) id = static_cast<uint32_t>(select->column_int64(0));
  select->reset();
  return id;
}

// --- remote identities -------------------------------------------------------------------------

Result<std::optional<RemoteIdentity>> SignalRepo::load_identity(std::string_view address) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT identity_key, offered_key FROM signal_identities WHERE address = ?1"));
  select->bind(1, address);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  if (!has_row) return std::optional<RemoteIdentity>();
  RemoteIdentity identity{select->column_blob(0), select->column_blob(1)};
  select->reset();
  return std::optional<RemoteIdentity>(std::move(identity));
}

Result<bool> SignalRepo::save_identity(std::string_view address, ByteView key) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<RemoteIdentity> known, load_identity(address));
  if (!known) {
    SOTTO_ASSIGN_OR_RETURN(
        Statement * insert,
        db_.prepare("INSERT INTO signal_identities (address, identity_key) VALUES (?1, ?2)"));
    insert->bind(1, address).bind(2, key);
    SOTTO_RETURN_IF_ERROR(insert->run());
    return true;
  }
  if (equal_constant_time(known->trusted_key, key)) return true;
  SOTTO_ASSIGN_OR_RETURN(
      Statement * offer,
      db_.prepare("UPDATE signal_identities SET offered_key = ?2 WHERE address = ?1"));
  offer->bind(1, address).bind(2, key);
  SOTTO_RETURN_IF_ERROR(offer->run());
  return false;
}

Status SignalRepo::replace_trusted_identity(std::string_view address, ByteView key) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * upsert,
      db_.prepare("INSERT OR REPLACE INTO signal_identities (address, identity_key, offered_key) "
                  "VALUES (?1, ?2, NULL)"));
  upsert->bind(1, address).bind(2, key);
  return upsert->run();
}

Status SignalRepo::delete_identity(std::string_view address) {
  SOTTO_ASSIGN_OR_RETURN(Statement * del,
                         db_.prepare("DELETE FROM signal_identities WHERE address = ?1"));
  del->bind(1, address);
  return del->run();
}

// --- sender keys -------------------------------------------------------------------------------

Result<std::optional<RecordBlob>> SignalRepo::load_sender_key(ByteView group_id,
                                                              std::string_view address,
                                                              int32_t device_id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT record, user_record FROM signal_sender_keys "
                                     "WHERE group_id = ?1 AND address = ?2 AND device_id = ?3"));
  select->bind(1, group_id).bind(2, address).bind(3, int64_t{device_id});
  return read_record(select);
}

Status SignalRepo::store_sender_key(ByteView group_id, std::string_view address, int32_t device_id,
                                    ByteView record, ByteView user_record) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare("UPDATE OR FAIL signal_sender_keys SET record = ?4, user_record = ?5 "
                  "WHERE group_id = ?1 AND address = ?2 AND device_id = ?3"));
  update->bind(1, group_id)
      .bind(2, address)
      .bind(3, int64_t{device_id})
      .bind(4, record)
      .bind(5, user_record);
  SOTTO_RETURN_IF_ERROR(update->run());
  if (db_.changes() > 0) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO signal_sender_keys (group_id, address, device_id, record, "
                  "user_record) VALUES (?1, ?2, ?3, ?4, ?5)"));
  insert->bind(1, group_id)
      .bind(2, address)
      .bind(3, int64_t{device_id})
      .bind(4, record)
      .bind(5, user_record);
  return insert->run();
}

Status SignalRepo::delete_sender_key(ByteView group_id, std::string_view address,
                                     int32_t device_id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * del,
                         db_.prepare("DELETE FROM signal_sender_keys "
                                     "WHERE group_id = ?1 AND address = ?2 AND device_id = ?3"));
  del->bind(1, group_id).bind(2, address).bind(3, int64_t{device_id});
  return del->run();
}

// --- counters ----------------------------------------------------------------------------------

Result<int64_t> SignalRepo::next_counter(std::string_view name, int64_t count, int64_t initial) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT value FROM counters WHERE name = ?1"));
  select->bind(1, name);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  const int64_t first = has_row ? select->column_int64(0) : initial;
  select->reset();
  SOTTO_ASSIGN_OR_RETURN(
      Statement * upsert,
      db_.prepare("INSERT OR REPLACE INTO counters (name, value) VALUES (?1, ?2)"));
  upsert->bind(1, name).bind(2, first + count);
  SOTTO_RETURN_IF_ERROR(upsert->run());
  return first;
}

}  // namespace sotto::storage
