#include "sotto/storage/channel_copy_repo.h"

namespace sotto::storage {
namespace {

Result<std::optional<int64_t>> single_int(Statement* select) {
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::optional<int64_t> out;
  if (has_row) out = select->column_int64(0);
  select->reset();
  return out;
}

}  // namespace

Status ChannelCopyRepo::add(const ChannelCopy& c) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT OR FAIL INTO channel_copies (message_row, channel_id, author, seq, "
                  "generation, body, relayed_by, clip_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                  "NULLIF(?7, ''), NULLIF(?8, x''))"));
  insert->bind(1, c.message_row)
      .bind(2, ByteView(c.channel_id))
      .bind(3, c.author)
      .bind(4, c.seq)
      .bind(5, c.generation)
      .bind(6, ByteView(c.body))
      .bind(7, c.relayed_by)
      .bind(8, ByteView(c.clip_key));
  return insert->run();
}

Result<std::optional<int64_t>> ChannelCopyRepo::find_row(ByteView channel_id,
                                                         const std::string& author, int64_t seq) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT message_row FROM channel_copies "
                                     "WHERE channel_id = ?1 AND author = ?2 AND seq = ?3"));
  select->bind(1, channel_id).bind(2, author).bind(3, seq);
  return single_int(select);
}

Result<std::vector<ChannelCopy>> ChannelCopyRepo::after(ByteView channel_id,
                                                        const std::string& author,
                                                        int64_t after_seq, int64_t limit) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT c.message_row, c.seq, c.generation, c.body, ifnull(c.relayed_by, ''), "
                  "m.message_id, ifnull(c.clip_key, x'') FROM channel_copies c JOIN messages m ON "
                  "m.id = c.message_row "
                  "WHERE c.channel_id = ?1 AND c.author = ?2 AND c.seq > ?3 "
                  "ORDER BY c.seq LIMIT ?4"));
  select->bind(1, channel_id).bind(2, author).bind(3, after_seq).bind(4, limit);
  std::vector<ChannelCopy> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    ChannelCopy c;
    c.message_row = select->column_int64(0);
    c.channel_id = Bytes(channel_id.begin(), channel_id.end());
    c.author = author;
    c.seq = select->column_int64(1);
    c.generation = select->column_int64(2);
    c.body = select->column_blob(3);
    c.relayed_by = select->column_text(4);
    c.message_id = select->column_blob(5);
    c.clip_key = select->column_blob(6);
    out.push_back(std::move(c));
  }
  select->reset();
  return out;
}

Result<std::string> ChannelCopyRepo::relayed_by(int64_t message_row) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT ifnull(relayed_by, '') FROM channel_copies WHERE message_row = ?1"));
  select->bind(1, message_row);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::string out = has_row ? select->column_text(0) : std::string();
  select->reset();
  return out;
}

Result<std::optional<int64_t>> ChannelCopyRepo::mark(ByteView channel_id,
                                                     const std::string& author) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select, db_.prepare("SELECT held_through FROM channel_marks "
                                                         "WHERE channel_id = ?1 AND author = ?2"));
  select->bind(1, channel_id).bind(2, author);
  return single_int(select);
}

Status ChannelCopyRepo::set_mark(ByteView channel_id, const std::string& author,
                                 int64_t held_through) {
  // Debian's SQLCipher is built on an SQLite without UPSERT: update, else insert. OR FAIL: no
  // statement journal (see SignalRepo::store_session); this runs once per relayed message.
  SOTTO_ASSIGN_OR_RETURN(Statement * update,
                         db_.prepare("UPDATE OR FAIL channel_marks SET held_through = ?3 "
                                     "WHERE channel_id = ?1 AND author = ?2"));
  update->bind(1, channel_id).bind(2, author).bind(3, held_through);
  SOTTO_RETURN_IF_ERROR(update->run());
  if (db_.changes() > 0) return Status::ok();
  SOTTO_ASSIGN_OR_RETURN(Statement * insert,
                         db_.prepare("INSERT OR FAIL INTO channel_marks (channel_id, author, "
                                     "held_through) VALUES (?1, ?2, ?3)"));
  insert->bind(1, channel_id).bind(2, author).bind(3, held_through);
  return insert->run();
}

Result<int64_t> ChannelCopyRepo::advance_mark(ByteView channel_id, const std::string& author,
                                              int64_t seq) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> current, mark(channel_id, author));
  int64_t held = current.value_or(0);
  if (seq != held + 1) return held;  // a gap stays open until what fills it arrives
  held = seq;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(auto next, find_row(channel_id, author, held + 1));
    if (!next) break;
    held += 1;
  }
  SOTTO_RETURN_IF_ERROR(set_mark(channel_id, author, held));
  return held;
}

Result<std::vector<ChannelMark>> ChannelCopyRepo::marks(ByteView channel_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT author, held_through FROM channel_marks WHERE channel_id = ?1 "
                  "ORDER BY author"));
  select->bind(1, channel_id);
  std::vector<ChannelMark> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back({Bytes(channel_id.begin(), channel_id.end()), select->column_text(0),
                   select->column_int64(1)});
  }
  select->reset();
  return out;
}

Result<int64_t> ChannelCopyRepo::next_own_seq(ByteView channel_id,
                                              const std::string& own_fingerprint) {
  SOTTO_ASSIGN_OR_RETURN(std::optional<int64_t> current, mark(channel_id, own_fingerprint));
  const int64_t next = current.value_or(0) + 1;
  SOTTO_RETURN_IF_ERROR(set_mark(channel_id, own_fingerprint, next));
  return next;
}

Result<std::vector<int64_t>> ChannelCopyRepo::waiting_through(ByteView channel_id,
                                                              const std::string& author,
                                                              int64_t through,
                                                              const std::string& recipient) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT c.message_row FROM channel_copies c "
                  "JOIN outbox o ON o.message_row = c.message_row AND o.recipient = ?4 "
                  "WHERE c.channel_id = ?1 AND c.author = ?2 AND c.seq <= ?3 ORDER BY c.seq"));
  select->bind(1, channel_id).bind(2, author).bind(3, through).bind(4, recipient);
  std::vector<int64_t> out;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    out.push_back(select->column_int64(0));
  }
  select->reset();
  return out;
}

Status ChannelCopyRepo::trim(ByteView channel_id, const std::string& author, int64_t keep) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * remove,
      db_.prepare("DELETE FROM channel_copies WHERE channel_id = ?1 AND author = ?2 AND seq <= "
                  "(SELECT max(seq) FROM channel_copies WHERE channel_id = ?1 AND author = ?2) - "
                  "?3"));
  remove->bind(1, channel_id).bind(2, author).bind(3, keep);
  return remove->run();
}

Status ChannelCopyRepo::set_floor(ByteView channel_id, const std::string& recipient, int64_t seq,
                                  int64_t epoch) {
  SOTTO_ASSIGN_OR_RETURN(Statement * replace,
                         db_.prepare("INSERT OR REPLACE INTO channel_key_floors (channel_id, "
                                     "recipient, seq, epoch) VALUES (?1, ?2, ?3, ?4)"));
  replace->bind(1, channel_id).bind(2, recipient).bind(3, seq).bind(4, epoch);
  return replace->run();
}

Result<ChannelCopyRepo::Floor> ChannelCopyRepo::floor(ByteView channel_id,
                                                      const std::string& recipient) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT seq, epoch FROM channel_key_floors WHERE channel_id = ?1 AND recipient "
                  "IN (?2, '') ORDER BY recipient = '' LIMIT 1"));
  select->bind(1, channel_id).bind(2, recipient);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  Floor out;
  if (has_row) out = {select->column_int64(0), select->column_int64(1)};
  select->reset();
  return out;
}

Status ChannelCopyRepo::clear_floors(ByteView channel_id) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * remove,
      db_.prepare("DELETE FROM channel_key_floors WHERE channel_id = ?1 AND recipient != ''"));
  remove->bind(1, channel_id);
  return remove->run();
}

Status ChannelCopyRepo::keep_key(ByteView channel_id, const std::string& author, int64_t generation,
                                 int64_t epoch, ByteView signed_key) {
  SOTTO_ASSIGN_OR_RETURN(Statement * replace,
                         db_.prepare("INSERT OR REPLACE INTO channel_keys (channel_id, author, "
                                     "generation, epoch, signed_key) VALUES (?1, ?2, ?3, ?4, ?5)"));
  replace->bind(1, channel_id)
      .bind(2, author)
      .bind(3, generation)
      .bind(4, epoch)
      .bind(5, signed_key);
  SOTTO_RETURN_IF_ERROR(replace->run());
  SOTTO_ASSIGN_OR_RETURN(Statement * trim,
                         db_.prepare("DELETE FROM channel_keys WHERE channel_id = ?1 AND author = "
                                     "?2 AND generation <= ?3"));
  trim->bind(1, channel_id).bind(2, author).bind(3, generation - kKeptKeys);
  return trim->run();
}

Result<std::optional<ChannelCopyRepo::SignedKey>> ChannelCopyRepo::key(ByteView channel_id,
                                                                       const std::string& author,
                                                                       int64_t generation) {
  SOTTO_ASSIGN_OR_RETURN(Statement * select,
                         db_.prepare("SELECT epoch, signed_key FROM channel_keys WHERE channel_id "
                                     "= ?1 AND author = ?2 AND generation = ?3"));
  select->bind(1, channel_id).bind(2, author).bind(3, generation);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  std::optional<SignedKey> out;
  if (has_row) out = SignedKey{select->column_int64(0), select->column_blob(1)};
  select->reset();
  return out;
}

}  // namespace sotto::storage
