// Mailboxes (doc/protocol.md, Mailboxes; migration 0013), in two parts:
//   MailboxStore    on a mailbox node: its users, whose deposits each accepts, the frames it
//                   holds for them, and the notices owed to senders whose deposits expired;
//   MailboxRecords  on a user's node: our own signed mailbox record and our contacts' records,
//                   and which outbox entries a recipient's mailbox holds.
// Thread-safety: as the Database they use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

struct HeldFrame {
  int64_t handle = 0;  // hand-over order
  std::string sender;
  Bytes message_id;
  Bytes message;  // the serialized SignalMessage
};

struct MailboxUserStats {
  std::string fingerprint;
  int64_t held = 0;        // frames waiting
  int64_t held_bytes = 0;  // their size
  int64_t senders = 0;     // identities allowed to deposit
};

struct ExpiredNotice {
  int64_t id = 0;
  std::string sender;
  std::string recipient;
  Bytes message_id;
};

enum class DepositOutcome { kHeld, kAlreadyHeld, kOverQuota, kRefused };

class MailboxStore {
 public:
  explicit MailboxStore(Database& db) : db_(db) {}

  Result<bool> is_user(const std::string& fingerprint);
  Result<int64_t> user_count();
  // Makes `fingerprint` a user (or keeps it one) accepting deposits from exactly `senders`.
  Status register_user(const std::string& fingerprint, const std::vector<std::string>& senders,
                       int64_t now_ms);
  // Drops the user with everything held for it.
  Status remove_user(const std::string& fingerprint);
  // Holds `message` for `user` unless `sender` may not write to it or its quota would overflow.
  Result<DepositOutcome> deposit(const std::string& user, const std::string& sender,
                                 ByteView message_id, ByteView message, int64_t expires_at,
                                 int64_t quota_bytes);
  // Held frames of `user` with handle > after, oldest first.
  Result<std::vector<HeldFrame>> held(const std::string& user, int64_t after, int64_t limit);
  // Drops `user`'s frame `handle`; false when it held none such (someone else's, or gone).
  Result<bool> take(const std::string& user, int64_t handle);
  Result<MailboxUserStats> stats(const std::string& user);
  Result<std::vector<MailboxUserStats>> all_stats();
  // Drops every frame whose time ran out before `now_ms` and records a notice for its sender;
  // the number dropped.
  Result<int64_t> expire(int64_t now_ms);
  Result<std::vector<ExpiredNotice>> notices_for(const std::string& sender, int64_t limit);
  Status drop_notice(int64_t id);
  Result<std::vector<std::string>> senders_with_notices();

 private:
  Database& db_;
};

struct MailboxRecordRow {
  std::string contact;  // empty for our own
  std::string mailbox;  // the mailbox node's fingerprint; empty: none
  int64_t serial = 0;
  Bytes record;  // the serialized, signed MailboxRecord
};

class MailboxRecords {
 public:
  explicit MailboxRecords(Database& db) : db_(db) {}

  Result<std::optional<MailboxRecordRow>> own();
  Status set_own(int64_t serial, ByteView record);
  Result<std::optional<MailboxRecordRow>> of_contact(const std::string& contact);
  // Keeps the record unless one with a serial as high is kept already; whether it was kept.
  Result<bool> set_for_contact(const std::string& contact, const std::string& mailbox,
                               int64_t serial, ByteView record);
  // Every contact whose mailbox is `mailbox`.
  Result<std::vector<std::string>> users_of(const std::string& mailbox);
  // Whether some contact names `mailbox` as theirs.
  Result<bool> is_contacts_mailbox(const std::string& mailbox);

  // --- the outbox entries a mailbox holds ---
  // Entries for `recipient` not at its mailbox, with id > after_id, oldest first: (outbox id,
  // message row, frame).
  struct Undeposited {
    int64_t outbox_id = 0;
    int64_t message_row = 0;
    Bytes frame;
  };
  Result<std::vector<Undeposited>> undeposited(const std::string& recipient, int64_t after_id,
                                               int64_t limit);
  // The entry of `message_row` for `recipient` is (or is no longer) at the mailbox; false when
  // there is no such entry.
  Result<bool> set_at_mailbox(int64_t message_row, const std::string& recipient, bool at);
  Result<int64_t> count_at_mailbox(const std::string& recipient);
  // None of `recipient`'s entries is at a mailbox any more (it named another, or none).
  Status clear_at_mailbox(const std::string& recipient);

 private:
  Database& db_;
};

}  // namespace sotto::storage
