// ChannelCopyRepo: what members relay to each other (doc/guide.md, Shift change; migration 0012).
// Each channel message an author numbered is kept as the author's ciphertext, with how far this
// profile holds each author's messages without a gap (its mark) and where our own sender key's
// chain starts in our numbering (the floor handed over with the key).
// Thread-safety: as the Database it uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/bytes.h"
#include "sotto/base/status.h"
#include "sotto/storage/database.h"

namespace sotto::storage {

struct ChannelCopy {
  int64_t message_row = 0;
  Bytes message_id;  // read from the archive row (not stored twice)
  Bytes channel_id;
  std::string author;
  int64_t seq = 0;
  int64_t generation = 0;
  Bytes body;
  std::string relayed_by;  // empty: from the author itself
  Bytes clip_key;          // a clip heard live: body is its VoiceEnd (migration 0012)
};

struct ChannelMark {
  Bytes channel_id;
  std::string author;
  int64_t held_through = 0;
};

class ChannelCopyRepo {
 public:
  explicit ChannelCopyRepo(Database& db) : db_(db) {}

  Status add(const ChannelCopy& copy);
  // The archive row holding `author`'s message `seq` in the channel, if we have it.
  Result<std::optional<int64_t>> find_row(ByteView channel_id, const std::string& author,
                                          int64_t seq);
  // `author`'s copies with seq > after_seq, in seq order, at most `limit`.
  Result<std::vector<ChannelCopy>> after(ByteView channel_id, const std::string& author,
                                         int64_t after_seq, int64_t limit);
  // Who handed us the message of `message_row` (empty: its author, or not a channel message).
  Result<std::string> relayed_by(int64_t message_row);

  // nullopt: we cannot open anything of `author`'s yet (no key from it).
  Result<std::optional<int64_t>> mark(ByteView channel_id, const std::string& author);
  Status set_mark(ByteView channel_id, const std::string& author, int64_t held_through);
  // After `seq` was archived: the mark moves over it and any copies already held right after it.
  // Returns the mark.
  Result<int64_t> advance_mark(ByteView channel_id, const std::string& author, int64_t seq);
  Result<std::vector<ChannelMark>> marks(ByteView channel_id);
  // Our next number in the channel (our own mark, counted up).
  Result<int64_t> next_own_seq(ByteView channel_id, const std::string& own_fingerprint);

  // Rows of `author`'s messages with seq <= through that still wait in the outbox for
  // `recipient`: the ones its mark says it holds.
  Result<std::vector<int64_t>> waiting_through(ByteView channel_id, const std::string& author,
                                               int64_t through, const std::string& recipient);
  // Keeps the newest `keep` copies of `author` (the archive rows stay).
  Status trim(ByteView channel_id, const std::string& author, int64_t keep);

  // recipient "": the start of our current key; else a newcomer's start. `epoch`: the roster's.
  Status set_floor(ByteView channel_id, const std::string& recipient, int64_t seq, int64_t epoch);
  struct Floor {
    int64_t seq = 0;
    int64_t epoch = 0;
  };
  Result<Floor> floor(ByteView channel_id, const std::string& recipient);
  // Our key rotated: everyone starts from its first iteration again.
  Status clear_floors(ByteView channel_id);

  // A member's signed sender key from its first iteration (channel_keys), kept for co-members
  // who missed it; the newest kKeptKeys generations per author: more than the copies kept per
  // author (ChannelRelay::kKeepCopies, 20,000) span at a new key every 1,000 messages.
  static constexpr int64_t kKeptKeys = 64;
  Status keep_key(ByteView channel_id, const std::string& author, int64_t generation, int64_t epoch,
                  ByteView signed_key);
  struct SignedKey {
    int64_t epoch = 0;
    Bytes signed_key;
  };
  Result<std::optional<SignedKey>> key(ByteView channel_id, const std::string& author,
                                       int64_t generation);

 private:
  Database& db_;
};

}  // namespace sotto::storage
