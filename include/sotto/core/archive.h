// The archive as its owner reads it out: full-text search and export (issue 8). The same code
// runs in a node (Node::search, Node::export_archive, control commands "search", "export" and
// "export_progress") and without one (offline_search, offline_export in offline.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sotto/core/events.h"

namespace sotto::core {

struct SearchHit {
  MessageInfo message;
  std::string conversation_name;  // "#channel", or the contact's name for a 1:1 conversation
  // The best-matching stretch of the body, matching words in [brackets], "…" where cut.
  std::string snippet;
};

constexpr int64_t kDefaultSearchLimit = 50;
constexpr int64_t kMaxSearchLimit = 1000;

// What `sotto export` writes.
//
//   json   FILE holds one JSON object per line, one per message, oldest first, with the fields of
//          `sotto history --json` (message_object) plus "conversation_name" and, for a voice
//          clip, "ogg" (or "wav", by the voice format): the clip's file, relative to FILE's
//          directory.
//   text   FILE holds a header line, then one line per message as people read it (continuation
//          lines of a message indented by four spaces).
//
// Voice clips go into the directory FILE.voice/ (created 0700), one file (0600) per clip, named by
// the clip's message id: ID.opus, Ogg Opus holding the archived packets as they are (the
// default), or ID.wav, decoded to 48 kHz mono. FILE is written beside itself under a temporary
// name (0600) and renamed into place once complete: an interrupted export leaves no half file.
enum class ExportFormat { kJson, kText };

struct ExportOptions {
  std::string out;  // FILE; absolute when a node writes it (it may run in another directory)
  ExportFormat format = ExportFormat::kJson;
  std::string in;                   // one conversation (contact or #channel); empty: all of them
  std::optional<int64_t> since_ms;  // only messages sent at or after (the author's clock)
  bool force = false;               // replace an existing FILE (else InvalidArgument)
  VoiceFileFormat voice = VoiceFileFormat::kOgg;  // the voice clips' files
};

struct ExportProgress {
  int64_t messages = 0;     // written so far
  int64_t voice_clips = 0;  // decoded so far
  double fraction = 0;      // of the archive's rows gone through, 0..1
};

struct ExportSummary {
  std::string file;
  std::string voice_dir;  // empty when no clip was exported
  int64_t messages = 0;
  int64_t voice_clips = 0;
};

// "json" or "text"; nullopt for anything else.
std::optional<ExportFormat> export_format_named(const std::string& name);
const char* export_format_name(ExportFormat format);
// "ogg" or "wav"; nullopt for anything else.
std::optional<VoiceFileFormat> voice_file_format_named(const std::string& name);

}  // namespace sotto::core
