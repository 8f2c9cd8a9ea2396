// VoiceClipRepo: the archived voice clips (doc/guide.md, Push-to-talk voice, migration 0005), one
// per transmission, each tied to its message row (kind kVoice) in the channel's history.
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

struct VoiceClipRecord {
  int64_t message_row = 0;
  Bytes channel_id;
  Bytes transmission_id;
  Bytes talker_key;
  int64_t sample_rate = 48'000;
  int64_t frame_ms = 20;
  int64_t bitrate = 24'000;
  int64_t frames = 0;
  int64_t started_at_us = 0;
  Bytes packets;  // voice/clip.h encoding
  Bytes timing;   // 4 bytes LE per frame: ms after the first frame
  Bytes signature;
};

class VoiceClipRepo {
 public:
  explicit VoiceClipRepo(Database& db) : db_(db) {}

  Status insert(const VoiceClipRecord& clip);
  Result<std::optional<VoiceClipRecord>> find(int64_t message_row);
  // Rows of voice messages whose message id starts with `hex_prefix` (any case).
  Result<std::vector<int64_t>> rows_with_id_prefix(const std::string& hex_prefix);

 private:
  Database& db_;
};

}  // namespace sotto::storage
