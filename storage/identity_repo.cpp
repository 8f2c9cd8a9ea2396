#include "sotto/storage/identity_repo.h"

namespace sotto::storage {

Status IdentityRepo::create(const IdentityRecord& identity) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO identity (id, name, public_key, private_key, registration_id, "
                  "transport_public, transport_secret, transport_signature, created_at) "
                  "VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  insert->bind(1, identity.name)
      .bind(2, ByteView(identity.public_key))
      .bind(3, identity.private_key.view())
      .bind(4, int64_t{identity.registration_id})
      .bind(5, ByteView(identity.transport_public))
      .bind(6, identity.transport_secret.view())
      .bind(7, ByteView(identity.transport_signature))
      .bind(8, identity.created_at);
  Status status = insert->run();
  if (status.code() == StatusCode::kInvalidArgument) {
    return Status::invalid_argument("this profile already has an identity");
  }
  return status;
}

Result<std::optional<IdentityRecord>> IdentityRepo::load() {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT name, public_key, private_key, registration_id, transport_public, "
                  "transport_secret, transport_signature, created_at FROM identity WHERE id = 1"));
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  if (!has_row) return std::optional<IdentityRecord>();
  IdentityRecord identity;
  identity.name = select->column_text(0);
  identity.public_key = select->column_blob(1);
  identity.private_key = select->column_secret(2);
  identity.registration_id = static_cast<uint32_t>(select->column_int64(3));
  identity.transport_public = select->column_blob(4);
  identity.transport_secret = select->column_secret(5);
  identity.transport_signature = select->column_blob(6);
  identity.created_at = select->column_int64(7);
  select->reset();
  return std::optional<IdentityRecord>(std::move(identity));
}

}  // namespace sotto::storage
