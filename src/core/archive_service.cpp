#include "src/core/archive_service.h"

#include <chrono>

#include "src/core/archive_export.h"

namespace sotto::core {
namespace {

// How long one slice of an export may hold the loop. A voice frame is due every 20 ms and the
// jitter buffers hold up to 80 ms, so a few milliseconds at a time go unnoticed. (Real time, not
// the node's Clock: this measures work done, and a test's fake clock would never move.)
constexpr auto kSliceBudget = std::chrono::milliseconds(4);

}  // namespace

struct ArchiveService::Job {
  std::unique_ptr<ArchiveExport> work;
  ExportDone done;
};

ArchiveService::ArchiveService(Account& account, Messenger& messenger, Post post)
    : account_(account), messenger_(messenger), post_(std::move(post)) {}

ArchiveService::~ArchiveService() = default;

Result<std::vector<SearchHit>> ArchiveService::search(const std::string& query,
                                                      const std::string& in, int64_t limit) {
  return search_archive(messenger_, account_, query, in, limit);
}

void ArchiveService::start_export(const ExportOptions& options, ExportDone done) {
  if (running_) {
    return done(Status::busy("an export is already running; wait for it to finish"));
  }
  auto work = ArchiveExport::begin(messenger_, account_, options);
  if (!work.is_ok()) return done(work.status());
  auto job = std::make_shared<Job>();
  job->work = std::move(work).value();
  job->done = std::move(done);
  running_ = job;
  run_slices(job);
}

void ArchiveService::run_slices(const std::shared_ptr<Job>& job) {
  for (;;) {
    const auto deadline = std::chrono::steady_clock::now() + kSliceBudget;
    Result<bool> finished = false;
    do {
      finished = job->work->step(kExportPageMessages);
    } while (finished.is_ok() && !finished.value() && std::chrono::steady_clock::now() < deadline);
    if (!finished.is_ok() || finished.value()) {
      running_.reset();
      ExportDone done = std::move(job->done);
      if (finished.is_ok()) {
        done(job->work->summary());
      } else {
        done(finished.status());  // the job's destructor removes what it wrote
      }
      return;
    }
    // Let the loop serve everything else, then carry on; without a loop, carry on here.
    if (post_([this, job] { run_slices(job); })) return;
  }
}

std::optional<ExportProgress> ArchiveService::export_progress() const {
  if (!running_) return std::nullopt;
  return running_->work->progress();
}

}  // namespace sotto::core
