#include "sotto/storage/voice_clip_repo.h"

#include <algorithm>
#include <cctype>

namespace sotto::storage {

Status VoiceClipRepo::insert(const VoiceClipRecord& c) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * insert,
      db_.prepare("INSERT INTO voice_clips (message_row, channel_id, transmission_id, talker_key, "
                  "sample_rate, frame_ms, bitrate, frames, started_at_us, packets, timing, "
                  "signature) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
  insert->bind(1, c.message_row)
      .bind(2, ByteView(c.channel_id))
      .bind(3, ByteView(c.transmission_id))
      .bind(4, ByteView(c.talker_key))
      .bind(5, c.sample_rate)
      .bind(6, c.frame_ms)
      .bind(7, c.bitrate)
      .bind(8, c.frames)
      .bind(9, c.started_at_us)
      .bind(10, ByteView(c.packets))
      .bind(11, ByteView(c.timing))
      .bind(12, ByteView(c.signature));
  return insert->run();
}

Result<std::optional<VoiceClipRecord>> VoiceClipRepo::find(int64_t message_row) {
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT channel_id, transmission_id, talker_key, sample_rate, frame_ms, bitrate, "
                  "frames, started_at_us, packets, timing, signature FROM voice_clips "
                  "WHERE message_row = ?1"));
  select->bind(1, message_row);
  SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
  if (!has_row) {
    select->reset();
    return std::optional<VoiceClipRecord>();
  }
  VoiceClipRecord c;
  c.message_row = message_row;
  c.channel_id = select->column_blob(0);
  c.transmission_id = select->column_blob(1);
  c.talker_key = select->column_blob(2);
  c.sample_rate = select->column_int64(3);
  c.frame_ms = select->column_int64(4);
  c.bitrate = select->column_int64(5);
  c.frames = select->column_int64(6);
  c.started_at_us = select->column_int64(7);
  c.packets = select->column_blob(8);
  c.timing = select->column_blob(9);
  c.signature = select->column_blob(10);
  select->reset();
  return std::optional<VoiceClipRecord>(std::move(c));
}

Result<std::vector<int64_t>> VoiceClipRepo::rows_with_id_prefix(const std::string& hex_prefix) {
  std::string upper = hex_prefix;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  SOTTO_ASSIGN_OR_RETURN(
      Statement * select,
      db_.prepare("SELECT m.id FROM messages m JOIN voice_clips v ON v.message_row = m.id "
                  "WHERE substr(hex(m.message_id), 1, length(?1)) = ?1 ORDER BY m.id"));
  select->bind(1, upper);
  std::vector<int64_t> rows;
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(bool has_row, select->step());
    if (!has_row) break;
    rows.push_back(select->column_int64(0));
  }
  select->reset();
  return rows;
}

}  // namespace sotto::storage
