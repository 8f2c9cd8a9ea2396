// Search and export of the archive (include/sotto/core/archive.h), shared by the node (through
// ArchiveService) and the offline commands. Not an interface outside src/core.
// Thread-safety: the thread that owns the Account (the node's loop, or a one-shot command).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/archive.h"
#include "src/core/messenger.h"

namespace sotto::core {

// The newest `limit` text messages matching `query`, newest first; only conversation `in` (a
// contact or #channel) unless it is empty. InvalidArgument for a bad query, an unknown `in` or a
// limit outside 1..kMaxSearchLimit.
Result<std::vector<SearchHit>> search_archive(Messenger& messenger, Account& account,
                                              const std::string& query, const std::string& in,
                                              int64_t limit);

// One export, written a page at a time so that a node can interleave it with its other work.
// Destroyed before it is complete, it removes what it wrote (FILE was never put in place).
class ArchiveExport {
 public:
  // Checks the options and creates the temporary file. InvalidArgument when FILE (or
  // FILE.voice) exists and `force` is not set, or for an unknown conversation; IoError when the
  // file cannot be created. REQUIRES: `messenger` and `account` outlive the export.
  static Result<std::unique_ptr<ArchiveExport>> begin(Messenger& messenger, Account& account,
                                                      const ExportOptions& options);
  ~ArchiveExport();
  ArchiveExport(const ArchiveExport&) = delete;
  ArchiveExport& operator=(const ArchiveExport&) = delete;

  // Writes the next page of at most `max_messages` messages (and their voice clips); true once
  // everything is written and FILE is in place. Messages archived after begin() are not part of
  // the export.
  Result<bool> step(int64_t max_messages);

  ExportProgress progress() const { return progress_; }
  // Complete once step() returned true.
  const ExportSummary& summary() const { return summary_; }

 private:
  ArchiveExport(Messenger& messenger, Account& account, ExportOptions options)
      : messenger_(messenger), account_(account), options_(std::move(options)) {}
  Status write_out(const std::string& text);
  Result<std::string> export_clip(const MessageInfo& message, int64_t row);
  Status finish();

  Messenger& messenger_;
  Account& account_;
  ExportOptions options_;
  std::string conversation_;
  std::string temp_path_;
  int fd_ = -1;
  int64_t first_row_ = 0;
  int64_t last_row_ = 0;  // the newest row when the export began
  int64_t cursor_ = 0;    // the last row gone through
  bool done_ = false;
  bool made_voice_dir_ = false;
  std::vector<std::string> clip_files_;  // written, removed again if the export fails
  ExportProgress progress_;
  ExportSummary summary_;
};

// Messages per page: small enough that a node's loop turns around within milliseconds.
constexpr int64_t kExportPageMessages = 256;

// A whole export in one go (no node); `progress` is called after every page.
Result<ExportSummary> run_export(Messenger& messenger, Account& account,
                                 const ExportOptions& options,
                                 const std::function<void(const ExportProgress&)>& progress);

}  // namespace sotto::core
