// ArchiveService: search and export inside a running node (the control commands "search",
// "export" and "export_progress", read in control_request.cpp, and Node::search /
// Node::export_archive).
//
// The node holds the database in EXCLUSIVE locking mode, so while it runs nothing else can read
// the archive: the node writes exports itself. An export runs on the loop a slice at a time (a
// few milliseconds of pages, then the loop turns round), so peers, receipts and voice keep being
// served while a million messages are written out. One export at a time.
//
//   {"cmd":"search","query":Q,"in":TO,"limit":N}        -> {"ok":true,"hits":[hit...]}
//   {"cmd":"export","out":ABSFILE,"format":"json"|"text","in":TO,"since":MS,"force":B}
//                                                        -> {"ok":true,"export":{summary}}
//                                                           (when the export is complete)
//   {"cmd":"export_progress"}                            -> {"ok":true,"running":B,
//                                                            "progress":{...}}
// Thread-safety: the node's loop thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/core/account.h"
#include "sotto/core/archive.h"
#include "src/core/messenger.h"

namespace sotto::core {

class ArchiveExport;

class ArchiveService {
 public:
  // Queues a task for the loop; false when no loop runs (the work is then done at once).
  using Post = std::function<bool(std::function<void()>)>;
  using ExportDone = std::function<void(Result<ExportSummary>)>;

  // REQUIRES: `account` and `messenger` outlive the service and every task it posted.
  ArchiveService(Account& account, Messenger& messenger, Post post);
  ~ArchiveService();

  Result<std::vector<SearchHit>> search(const std::string& query, const std::string& in,
                                        int64_t limit);
  // Starts an export; `done` runs once it is complete or has failed (Busy while another runs).
  void start_export(const ExportOptions& options, ExportDone done);
  // The running export's progress, if one runs.
  std::optional<ExportProgress> export_progress() const;

 private:
  struct Job;
  void run_slices(const std::shared_ptr<Job>& job);

  Account& account_;
  Messenger& messenger_;
  Post post_;
  std::shared_ptr<Job> running_;
};

}  // namespace sotto::core
