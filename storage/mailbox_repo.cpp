#include "sotto/storage/mailbox_repo.h"

namespace sotto::storage {
namespace {

// The first column of the next row, or nullopt when there is none; resets `select`.
Result<std::optional<int64_t>> first_int(Statement* select) {
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::optional<int64_t> out;
  if (has_row) out = select->column_int64(0);
  select->reset();
  return out;
}

Result<std::vector<std::string>> texts(Statement* select) {
  std::vector<std::string> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back(select->column_text(0));
  }
  select->reset();
  return out;
}

MailboxUserStats stats_from_row(const Statement& row) {
  MailboxUserStats s;
  s.fingerprint = row.column_text(0);
  s.held = row.column_int64(1);
  s.held_bytes = row.column_int64(2);
  s.senders = row.column_int64(3);
  return s;
}

constexpr const char* kStatsSelect =
    "SELECT u.fingerprint, (SELECT count(*) FROM mailbox_held h WHERE h.user = u.fingerprint), "
    "u.held_bytes, (SELECT count(*) FROM mailbox_senders s WHERE s.user = u.fingerprint) "
    "FROM mailbox_users u ";

}  // namespace

// --- MailboxStore -------------------------------------------------------------------------------

Result<bool> MailboxStore::is_user(const std::string& fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT 1 FROM mailbox_users WHERE fingerprint = ?1"));
  select->bind(1, fingerprint);
  SOTTO_ASSIGN_OR_RETURN(auto found, first_int(select));
  return found.has_value();
}

Result<int64_t> MailboxStore::user_count() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare("SELECT count(*) FROM mailbox_users"));
  SOTTO_ASSIGN_OR_RETURN(auto n, first_int(select));
  return n.value_or(0);
}

Status MailboxStore::register_user(const std::string& fingerprint,
                                   const std::vector<std::string>& senders, int64_t now_ms) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare(
          "INSERT OR IGNORE INTO mailbox_users (fingerprint, registered_at) VALUES (?1, ?2)"));
  insert->bind(1, fingerprint).bind(2, now_ms);
  SOTTO_RETURN_IF_ERROR(insert->run());
  SOTTO_ASSIGN_OR_RETURN(Statement * clear,
                         db_.prepare("DELETE FROM mailbox_senders WHERE user = ?1"));
  clear->bind(1, fingerprint);
  SOTTO_RETURN_IF_ERROR(clear->run());
  SOTTO_ASSIGN_OR_RETURN(
      Statement * add,
      db_.prepare("INSERT OR IGNORE INTO mailbox_senders (user, sender) VALUES (?1, ?2)"));
  for (const std::string& sender : senders) {
    add->bind(1, fingerprint).bind(2, sender);
    SOTTO_RETURN_IF_ERROR(add->run());
  }
  return Status::ok();
}

Status MailboxStore::remove_user(const std::string& fingerprint) {
  // The held frames and senders go with it (ON DELETE CASCADE).
  SOTTO_ASSIGN_OR_RETURN(Statement * remove,
                         db_.prepare("DELETE FROM mailbox_users WHERE fingerprint = ?1"));
  remove->bind(1, fingerprint);
  return remove->run();
}

Result<DepositOutcome> MailboxStore::deposit(const std::string& user, const std::string& sender,
                                             ByteView message_id, ByteView message,
                                             int64_t expires_at, int64_t quota_bytes) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * allowed,
      db_.prepare("SELECT u.held_bytes FROM mailbox_users u JOIN mailbox_senders s ON "
                  "s.user = u.fingerprint WHERE u.fingerprint = ?1 AND s.sender = ?2"));
  allowed->bind(1, user).bind(2, sender);
  SOTTO_ASSIGN_OR_RETURN(auto held_bytes, first_int(allowed));
  if (!held_bytes) return DepositOutcome::kRefused;
  SOTTO_ASSIGN_OR_RETURN(Statement * known,
                         db_.prepare("SELECT id FROM mailbox_held WHERE user = ?1 AND sender = ?2 "
                                     "AND message_id = ?3"));
  known->bind(1, user).bind(2, sender).bind(3, message_id);
  SOTTO_ASSIGN_OR_RETURN(auto existing, first_int(known));
  if (existing) return DepositOutcome::kAlreadyHeld;
  const auto size = static_cast<int64_t>(message.size());
  if (*held_bytes + size > quota_bytes) return DepositOutcome::kOverQuota;
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT OR FAIL INTO mailbox_held (user, sender, message_id, message, size, "
                  "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  insert->bind(1, user)
      .bind(2, sender)
      .bind(3, message_id)
      .bind(4, message)
      .bind(5, size)
      .bind(6, expires_at);
  SOTTO_RETURN_IF_ERROR(insert->run());
  SOTTO_ASSIGN_OR_RETURN(
      Statement * grow, db_.prepare("UPDATE OR FAIL mailbox_users SET held_bytes = held_bytes + ?2 "
                                    "WHERE fingerprint = ?1"));
  grow->bind(1, user).bind(2, size);
  SOTTO_RETURN_IF_ERROR(grow->run());
  return DepositOutcome::kHeld;
}

Result<std::vector<HeldFrame>> MailboxStore::held(const std::string& user, int64_t after,
                                                  int64_t limit) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT id, sender, message_id, message FROM mailbox_held "
                                     "WHERE user = ?1 AND id > ?2 ORDER BY id LIMIT ?3"));
  select->bind(1, user).bind(2, after).bind(3, limit);
  std::vector<HeldFrame> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    HeldFrame f;
    f.handle = select->column_int64(0);
    f.sender = select->column_text(1);
    f.message_id = select->column_blob(2);
    f.message = select->column_blob(3);
    out.push_back(std::move(f));
  }
  select->reset();
  return out;
}

Result<bool> MailboxStore::take(const std::string& user, int64_t handle) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * shrink,
      db_.prepare("UPDATE OR FAIL mailbox_users SET held_bytes = held_bytes - (SELECT size FROM "
                  "mailbox_held WHERE id = ?2 AND user = ?1) WHERE fingerprint = ?1 AND EXISTS "
                  "(SELECT 1 FROM mailbox_held WHERE id = ?2 AND user = ?1)"));
  shrink->bind(1, user).bind(2, handle);
  SOTTO_RETURN_IF_ERROR(shrink->run());
  if (db_.changes() == 0) return false;
  SOTTO_ASSIGN_OR_RETURN(Statement * remove,
                         db_.prepare("DELETE FROM mailbox_held WHERE id = ?2 AND user = ?1"));
  remove->bind(1, user).bind(2, handle);
  SOTTO_RETURN_IF_ERROR(remove->run());
  return true;
}

Result<MailboxUserStats> MailboxStore::stats(const std::string& user) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare(std::string(kStatsSelect) + "WHERE u.fingerprint = ?1"));
  select->bind(1, user);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  MailboxUserStats out;
  if (has_row) out = stats_from_row(*select);
  select->reset();
  return out;
}

Result<std::vector<MailboxUserStats>> MailboxStore::all_stats() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare(std::string(kStatsSelect) + "ORDER BY u.fingerprint"));
  std::vector<MailboxUserStats> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back(stats_from_row(*select));
  }
  select->reset();
  return out;
}

Result<int64_t> MailboxStore::expire(int64_t now_ms) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * notice,
      db_.prepare("INSERT INTO mailbox_notices (sender, recipient, message_id) SELECT sender, "
                  "user, message_id FROM mailbox_held WHERE expires_at < ?1 ORDER BY id"));
  notice->bind(1, now_ms);
  SOTTO_RETURN_IF_ERROR(notice->run());
  const int64_t expired = db_.changes();
  if (expired == 0) return 0;
  SOTTO_ASSIGN_OR_RETURN(
      Statement * shrink,
      db_.prepare("UPDATE OR FAIL mailbox_users SET held_bytes = held_bytes - (SELECT "
                  "ifnull(sum(size), 0) FROM mailbox_held h WHERE h.user = fingerprint AND "
                  "h.expires_at < ?1)"));
  shrink->bind(1, now_ms);
  SOTTO_RETURN_IF_ERROR(shrink->run());
  SOTTO_ASSIGN_OR_RETURN(Statement * remove,
                         db_.prepare("DELETE FROM mailbox_held WHERE expires_at < ?1"));
  remove->bind(1, now_ms);
  SOTTO_RETURN_IF_ERROR(remove->run());
  return expired;
}

Result<std::vector<ExpiredNotice>> MailboxStore::notices_for(const std::string& sender,
                                                             int64_t limit) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT id, recipient, message_id FROM mailbox_notices "
                                     "WHERE sender = ?1 ORDER BY id LIMIT ?2"));
  select->bind(1, sender).bind(2, limit);
  std::vector<ExpiredNotice> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    ExpiredNotice n;
    n.id = select->column_int64(0);
    n.sender = sender;
    n.recipient = select->column_text(1);
    n.message_id = select->column_blob(2);
    out.push_back(std::move(n));
  }
  select->reset();
  return out;
}

Status MailboxStore::drop_notice(int64_t id) {
  SOTTO_ASSIGN_OR_RETURN(Statement * remove,
                         db_.prepare("DELETE FROM mailbox_notices WHERE id = ?1"));
  remove->bind(1, id);
  return remove->run();
}

Result<std::vector<std::string>> MailboxStore::senders_with_notices() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT DISTINCT sender FROM mailbox_notices"));
  return texts(select);
}

// --- MailboxRecords -----------------------------------------------------------------------------

Result<std::optional<MailboxRecordRow>> MailboxRecords::own() {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT serial, record FROM own_mailbox WHERE id = 1"));
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::optional<MailboxRecordRow> out;
  if (has_row) {
    out.emplace();
    out->serial = select->column_int64(0);
    out->record = select->column_blob(1);
  }
  select->reset();
  return out;
}

Status MailboxRecords::set_own(int64_t serial, ByteView record) {
  // INSERT OR REPLACE: SQLCipher's SQLite predates upserts, and the row has no dependants.
  SOTTO_ASSIGN_OR_RETURN(
      Statement * replace,
      db_.prepare("INSERT OR REPLACE INTO own_mailbox (id, record, serial) VALUES (1, ?1, ?2)"));
  replace->bind(1, record).bind(2, serial);
  return replace->run();
}

Result<std::optional<MailboxRecordRow>> MailboxRecords::of_contact(const std::string& contact) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT mailbox, serial, record FROM contact_mailboxes WHERE contact = ?1"));
  select->bind(1, contact);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::optional<MailboxRecordRow> out;
  if (has_row) {
    out.emplace();
    out->contact = contact;
    out->mailbox = select->column_text(0);
    out->serial = select->column_int64(1);
    out->record = select->column_blob(2);
  }
  select->reset();
  return out;
}

Result<bool> MailboxRecords::set_for_contact(const std::string& contact, const std::string& mailbox,
                                             int64_t serial, ByteView record) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare("UPDATE OR FAIL contact_mailboxes SET mailbox = ?2, serial = ?3, record = ?4 "
                  "WHERE contact = ?1 AND serial < ?3"));
  update->bind(1, contact).bind(2, mailbox).bind(3, serial).bind(4, record);
  SOTTO_RETURN_IF_ERROR(update->run());
  if (db_.changes() > 0) return true;
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT OR IGNORE INTO contact_mailboxes (contact, mailbox, serial, record) "
                  "VALUES (?1, ?2, ?3, ?4)"));
  insert->bind(1, contact).bind(2, mailbox).bind(3, serial).bind(4, record);
  SOTTO_RETURN_IF_ERROR(insert->run());
  return db_.changes() > 0;
}

Result<std::vector<std::string>> MailboxRecords::users_of(const std::string& mailbox) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT contact FROM contact_mailboxes WHERE mailbox = ?1 ORDER BY contact"));
  select->bind(1, mailbox);
  return texts(select);
}

Result<bool> MailboxRecords::is_contacts_mailbox(const std::string& mailbox) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT 1 FROM contact_mailboxes WHERE mailbox = ?1 LIMIT 1"));
  select->bind(1, mailbox);
  SOTTO_ASSIGN_OR_RETURN(auto found, first_int(select));
  return found.has_value();
}

Result<std::vector<MailboxRecords::Undeposited>> MailboxRecords::undeposited(
    const std::string& recipient, int64_t after_id, int64_t limit) {
  // Only 1:1 entries carry their own frame; a channel's is shared (outbox_frames) and relayed
  // by co-members instead.
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT id, message_row, frame FROM outbox WHERE recipient = ?1 AND id > ?2 "
                  "AND at_mailbox = 0 AND length(frame) > 0 ORDER BY id LIMIT ?3"));
  select->bind(1, recipient).bind(2, after_id).bind(3, limit);
  std::vector<Undeposited> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    Undeposited u;
    u.outbox_id = select->column_int64(0);
    u.message_row = select->column_int64(1);
    u.frame = select->column_blob(2);
    out.push_back(std::move(u));
  }
  select->reset();
  return out;
}

Result<bool> MailboxRecords::set_at_mailbox(int64_t message_row, const std::string& recipient,
                                            bool at) {
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE OR FAIL outbox SET at_mailbox = ?3 WHERE "
                                     "message_row = ?1 AND recipient = ?2 AND at_mailbox != ?3"));
  update->bind(1, message_row).bind(2, recipient).bind(3, int64_t{at ? 1 : 0});
  SOTTO_RETURN_IF_ERROR(update->run());
  return db_.changes() > 0;
}

Result<int64_t> MailboxRecords::count_at_mailbox(const std::string& recipient) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT count(*) FROM outbox WHERE recipient = ?1 AND at_mailbox = 1"));
  select->bind(1, recipient);
  SOTTO_ASSIGN_OR_RETURN(auto n, first_int(select));
  return n.value_or(0);
}

Status MailboxRecords::clear_at_mailbox(const std::string& recipient) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare(
          "UPDATE OR FAIL outbox SET at_mailbox = 0 WHERE recipient = ?1 AND at_mailbox = 1"));
  update->bind(1, recipient);
  return update->run();
}

}  // namespace sotto::storage
