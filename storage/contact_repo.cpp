#include "sotto/storage/contact_repo.h"

namespace sotto::storage {
namespace {

constexpr const char* kColumns =
    "fingerprint, name, identity_key, trust, added_at, coalesce(namesake_of, '')";

ContactRecord read_contact(const Statement& row) {
  ContactRecord c;
  c.fingerprint = row.column_text(0);
  c.name = row.column_text(1);
  c.identity_key = row.column_blob(2);
  c.trust = row.column_int64(3) == static_cast<int64_t>(Trust::kVerified) ? Trust::kVerified
                                                                          : Trust::kUnverified;
  c.added_at = row.column_int64(4);
  c.namesake_of = row.column_text(5);
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
  SOTTO_ASSIGN_OR_RETURN(std::optional<ContactRecord> existing, find(contact.fingerprint));
  if (existing && existing->name == contact.name) return Status::ok();
  // The first contact to have a name keeps it: whoever comes later with it is its namesake.
  std::string namesake_of;
  SOTTO_ASSIGN_OR_RETURN(auto holders, with_name(contact.name));
  for (const auto& holder : holders) {
    if (holder.fingerprint != contact.fingerprint && holder.namesake_of.empty()) {
      namesake_of = holder.fingerprint;
    }
  }
  if (existing) {
    SOTTO_ASSIGN_OR_RETURN(
        Statement * update,
        db_.prepare("UPDATE contacts SET name = ?2, namesake_of = nullif(?3, '') "
                    "WHERE fingerprint = ?1"));
    update->bind(1, contact.fingerprint).bind(2, contact.name).bind(3, namesake_of);
    return update->run();
  }
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO contacts (fingerprint, name, identity_key, trust, added_at, "
                  "namesake_of) VALUES (?1, ?2, ?3, ?4, ?5, nullif(?6, ''))"));
  insert->bind(1, contact.fingerprint)
      .bind(2, contact.name)
      .bind(3, ByteView(contact.identity_key))
      .bind(4, static_cast<int64_t>(contact.trust))
      .bind(5, contact.added_at)
      .bind(6, namesake_of);
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

Status ContactRepo::take_name(const std::string& fingerprint, const std::string& name) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * demote,
      db_.prepare("UPDATE contacts SET namesake_of = ?1 WHERE name = ?2 AND fingerprint != ?1"));
  demote->bind(1, fingerprint).bind(2, name);
  SOTTO_RETURN_IF_ERROR(demote->run());
  SOTTO_ASSIGN_OR_RETURN(
      Statement * promote,
      db_.prepare("UPDATE contacts SET name = ?2, namesake_of = NULL WHERE fingerprint = ?1"));
  promote->bind(1, fingerprint).bind(2, name);
  return promote->run();
}

}  // namespace sotto::storage
