#include "sotto/storage/channel_repo.h"

#include <set>

namespace sotto::storage {
namespace {

constexpr const char* kSelect =
    "SELECT id, name, admin, admin_key, epoch, locked, strict, state, update_blob, "
    "key_generation, key_uses, own_key, created_at, free_voice, id_nonce FROM channels ";

ChannelRecord read_channel(const Statement& row) {
  ChannelRecord c;
  c.id = row.column_blob(0);
  c.name = row.column_text(1);
  c.admin = row.column_text(2);
  c.admin_key = row.column_blob(3);
  c.epoch = row.column_int64(4);
  c.locked = row.column_int64(5) != 0;
  c.strict = row.column_int64(6) != 0;
  c.state = static_cast<ChannelState>(row.column_int64(7));
  c.update_blob = row.column_blob(8);
  c.key_generation = row.column_int64(9);
  c.key_uses = row.column_int64(10);
  c.own_key = row.column_blob(11);
  c.created_at = row.column_int64(12);
  c.free_voice = row.column_int64(13) != 0;
  c.id_nonce = row.column_blob(14);
  return c;
}

Result<std::vector<ChannelRecord>> read_all(Statement* select) {
  std::vector<ChannelRecord> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back(read_channel(*select));
  }
  select->reset();
  return out;
}

Result<std::optional<ChannelRecord>> first_of(Result<std::vector<ChannelRecord>> rows) {
  SOTTO_ASSIGN_OR_RETURN(auto list, std::move(rows));
  if (list.empty()) return std::optional<ChannelRecord>();
  return std::optional<ChannelRecord>(std::move(list.front()));
}

Statement& bind_channel(Statement& statement, const ChannelRecord& c) {
  return statement.bind(1, ByteView(c.id))
      .bind(2, c.name)
      .bind(3, c.admin)
      .bind(4, ByteView(c.admin_key))
      .bind(5, c.epoch)
      .bind(6, int64_t{c.locked ? 1 : 0})
      .bind(7, int64_t{c.strict ? 1 : 0})
      .bind(8, static_cast<int64_t>(c.state))
      .bind(9, ByteView(c.update_blob))
      .bind(10, c.key_generation)
      .bind(11, c.key_uses)
      .bind(12, ByteView(c.own_key))
      .bind(13, c.created_at)
      .bind(14, int64_t{c.free_voice ? 1 : 0})
      .bind(15, ByteView(c.id_nonce));
}

}  // namespace

Status ChannelRepo::save(const ChannelRecord& c) {
  // Debian's SQLCipher is built on an SQLite without UPSERT: update, else insert.
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare(
          "UPDATE channels SET name = ?2, admin = ?3, admin_key = ?4, epoch = ?5, "
          "locked = ?6, strict = ?7, state = ?8, update_blob = ?9, key_generation = ?10, "
          "key_uses = ?11, own_key = ?12, created_at = ?13, free_voice = ?14, id_nonce = ?15 "
          "WHERE id = ?1"));
  SOTTO_RETURN_IF_ERROR(bind_channel(*update, c).run());
  if (db_.changes() > 0) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO channels (id, name, admin, admin_key, epoch, locked, strict, state, "
                  "update_blob, key_generation, key_uses, own_key, created_at, free_voice, "
                  "id_nonce) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                  "?15)"));
  return bind_channel(*insert, c).run();
}

Result<std::optional<ChannelRecord>> ChannelRepo::find(ByteView id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare(std::string(kSelect) + "WHERE id = ?1"));
  select->bind(1, id);
  return first_of(read_all(select));
}

Result<std::optional<ChannelRecord>> ChannelRepo::find_by_name(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare(std::string(kSelect) + "WHERE name = ?1"));
  select->bind(1, name);
  return first_of(read_all(select));
}

Result<std::vector<ChannelRecord>> ChannelRepo::list() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare(std::string(kSelect) + "ORDER BY name"));
  return read_all(select);
}

Result<std::vector<ChannelMemberRecord>> ChannelRepo::members(ByteView channel_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT fingerprint, name, identity_key, key_shared, key_offer, since_epoch "
                  "FROM channel_members WHERE channel_id = ?1 "
                  "ORDER BY fingerprint"));
  select->bind(1, channel_id);
  std::vector<ChannelMemberRecord> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back({select->column_text(0), select->column_text(1), select->column_blob(2),
                   select->column_int64(3), select->column_blob(4), select->column_int64(5)});
  }
  select->reset();
  return out;
}

Status ChannelRepo::set_members(ByteView channel_id,
                                const std::vector<ChannelMemberRecord>& members, int64_t epoch) {
  SOTTO_ASSIGN_OR_RETURN(auto current, this->members(channel_id));
  std::set<std::string> keep;
  for (const auto& m : members) keep.insert(m.fingerprint);
  SOTTO_ASSIGN_OR_RETURN(
      Statement * remove,
      db_.prepare("DELETE FROM channel_members WHERE channel_id = ?1 AND fingerprint = ?2"));
  for (const auto& m : current) {
    if (keep.count(m.fingerprint) != 0) continue;
    remove->bind(1, channel_id).bind(2, m.fingerprint);
    SOTTO_RETURN_IF_ERROR(remove->run());
  }
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE channel_members SET name = ?3, identity_key = ?4 "
                                     "WHERE channel_id = ?1 AND fingerprint = ?2"));
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO channel_members (channel_id, fingerprint, name, identity_key, "
                  "key_shared, since_epoch) VALUES (?1, ?2, ?3, ?4, 0, ?5)"));
  for (const auto& m : members) {
    for (Statement* statement : {update, insert}) {
      statement->bind(1, channel_id)
          .bind(2, m.fingerprint)
          .bind(3, m.name)
          .bind(4, ByteView(m.identity_key));
      if (statement == insert) statement->bind(5, epoch);
      SOTTO_RETURN_IF_ERROR(statement->run());
      if (db_.changes() > 0) break;
    }
  }
  return Status::ok();
}

Status ChannelRepo::set_key_shared(ByteView channel_id, const std::string& fingerprint,
                                   int64_t generation) {
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE channel_members SET key_shared = ?3, key_offer = NULL "
                                     "WHERE channel_id = ?1 AND fingerprint = ?2"));
  update->bind(1, channel_id).bind(2, fingerprint).bind(3, generation);
  return update->run();
}

Status ChannelRepo::set_key_offer(ByteView channel_id, const std::string& fingerprint,
                                  ByteView offer) {
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE channel_members SET key_offer = ?3 "
                                     "WHERE channel_id = ?1 AND fingerprint = ?2"));
  update->bind(1, channel_id).bind(2, fingerprint).bind(3, offer);
  return update->run();
}

Status ChannelRepo::clear_key_offers(ByteView channel_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare("UPDATE channel_members SET key_offer = NULL WHERE channel_id = ?1"));
  update->bind(1, channel_id);
  return update->run();
}

// OR FAIL: no statement journal (see SignalRepo::store_session).
Status ChannelRepo::add_key_use(ByteView channel_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare("UPDATE OR FAIL channels SET key_uses = key_uses + 1 WHERE id = ?1"));
  update->bind(1, channel_id);
  return update->run();
}

Result<bool> ChannelRepo::is_member(ByteView channel_id, const std::string& fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT 1 FROM channel_members "
                                     "WHERE channel_id = ?1 AND fingerprint = ?2"));
  select->bind(1, channel_id).bind(2, fingerprint);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  select->reset();
  return has_row;
}

Result<bool> ChannelRepo::shares_channel(const std::string& fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT 1 FROM channel_members m JOIN channels c ON c.id = m.channel_id "
                  "WHERE m.fingerprint = ?1 AND c.state = 0 LIMIT 1"));
  select->bind(1, fingerprint);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  select->reset();
  return has_row;
}

Result<std::vector<Bytes>> ChannelRepo::shared_with(const std::string& fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT c.id FROM channel_members m JOIN channels c ON c.id = m.channel_id "
                  "WHERE m.fingerprint = ?1 AND c.state = 0 ORDER BY c.id"));
  select->bind(1, fingerprint);
  std::vector<Bytes> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back(select->column_blob(0));
  }
  select->reset();
  return out;
}

Result<int64_t> ChannelRepo::count_by_admin(const std::string& admin) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT count(*) FROM channels WHERE admin = ?1 AND state != 2"));
  select->bind(1, admin);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  const int64_t count = has_row ? select->column_int64(0) : 0;
  select->reset();
  return count;
}

}  // namespace sotto::storage
