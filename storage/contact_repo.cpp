#include "sotto/storage/contact_repo.h"

namespace sotto::storage {
namespace {

constexpr const char* kColumns =
    "fingerprint, name, identity_key, trust, coalesce(offered_fingerprint, ''), offered_key, "
    "added_at";

ContactRecord read_contact(const Statement& row) {
  ContactRecord c;
  c.fingerprint = row.column_text(0);
  c.name = row.column_text(1);
  c.identity_key = row.column_blob(2);
  c.trust = static_cast<Trust>(row.column_int64(3));
  c.offered_fingerprint = row.column_text(4);
  c.offered_key = row.column_blob(5);
  c.added_at = row.column_int64(6);
  return c;
}

Result<std::vector<ContactRecord>> read_all(Statement& select) {
  std::vector<ContactRecord> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select.step());
    if (!has_row) break;
    out.push_back(read_contact(select));
  }
  select.reset();
  return out;
}

}  // namespace

Status ContactRepo::upsert(const ContactRecord& contact) {
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE contacts SET name = ?2 WHERE fingerprint = ?1"));
  update->bind(1, contact.fingerprint).bind(2, contact.name);
  SOTTO_RETURN_IF_ERROR(update->run());
  if (db_.changes() > 0) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO contacts (fingerprint, name, identity_key, trust, added_at) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)"));
  insert->bind(1, contact.fingerprint)
      .bind(2, contact.name)
      .bind(3, ByteView(contact.identity_key))
      .bind(4, static_cast<int64_t>(contact.trust))
      .bind(5, contact.added_at);
  return insert->run();
}

Result<std::optional<ContactRecord>> ContactRepo::find(const std::string& fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare(std::string("SELECT ") + kColumns +
                                                         " FROM contacts WHERE fingerprint = ?1"));
  select->bind(1, fingerprint);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  if (!has_row) return std::optional<ContactRecord>();
  ContactRecord contact = read_contact(*select);
  select->reset();
  return std::optional<ContactRecord>(std::move(contact));
}

Result<std::vector<ContactRecord>> ContactRepo::list() {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare(std::string("SELECT ") + kColumns + " FROM contacts ORDER BY name, fingerprint"));
  return read_all(*select);
}

Result<std::vector<ContactRecord>> ContactRepo::with_name(const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare(std::string("SELECT ") + kColumns +
                                     " FROM contacts WHERE name = ?1 ORDER BY fingerprint"));
  select->bind(1, name);
  return read_all(*select);
}

Result<std::vector<ContactRecord>> ContactRepo::with_fingerprint_prefix(const std::string& prefix) {
  // A range on the primary key: every lower-case hex string that starts with `prefix` sorts at
  // or after it and before `prefix` + "g" ('g' follows every hex digit).
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare(std::string("SELECT ") + kColumns +
                                     " FROM contacts WHERE fingerprint >= ?1 AND fingerprint < ?2 "
                                     "ORDER BY fingerprint"));
  select->bind(1, prefix).bind(2, prefix + "g");
  return read_all(*select);
}

Status ContactRepo::set_trust(const std::string& fingerprint, Trust trust) {
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE contacts SET trust = ?2 WHERE fingerprint = ?1"));
  update->bind(1, fingerprint).bind(2, static_cast<int64_t>(trust));
  return update->run();
}

Status ContactRepo::mark_changed(const std::string& fingerprint,
                                 const std::string& offered_fingerprint, ByteView offered_key) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare("UPDATE contacts SET trust = 2, offered_fingerprint = ?2, offered_key = ?3 "
                  "WHERE fingerprint = ?1"));
  update->bind(1, fingerprint).bind(2, offered_fingerprint).bind(3, offered_key);
  return update->run();
}

Status ContactRepo::adopt_offered(const std::string& fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<ContactRecord> contact, find(fingerprint));
  if (!contact || contact->offered_fingerprint.empty()) {
    return Status::invalid_argument("no changed identity to adopt");
  }
  SOTTO_ASSIGN_OR_RETURN(Statement * remove,
                         db_.prepare("DELETE FROM contacts WHERE fingerprint = ?1"));
  remove->bind(1, contact->offered_fingerprint);
  SOTTO_RETURN_IF_ERROR(remove->run());
  SOTTO_ASSIGN_OR_RETURN(
      Statement * update,
      db_.prepare("UPDATE contacts SET fingerprint = offered_fingerprint, "
                  "identity_key = offered_key, trust = 1, offered_fingerprint = NULL, "
                  "offered_key = NULL WHERE fingerprint = ?1"));
  update->bind(1, fingerprint);
  return update->run();
}

}  // namespace sotto::storage
