#include "src/core/archive_service.h"

#include <chrono>

#include "sotto/core/json.h"
#include "src/core/archive_export.h"

namespace sotto::core {
namespace {

// How long one slice of an export may hold the loop. A voice frame is due every 20 ms and the
// jitter buffers hold up to 80 ms, so a few milliseconds at a time go unnoticed. (Real time, not
// the node's Clock: this measures work done, and a test's fake clock would never move.)
constexpr auto kSliceBudget = std::chrono::milliseconds(4);

std::string text_field(const nlohmann::json& request, const char* key) {
  auto it = request.find(key);
  return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

struct ArchiveService::Job {
  std::unique_ptr<ArchiveExport> work;
  ExportDone done;
};

ArchiveService::ArchiveService(Account& account, Messenger& messenger, Post post)
    : account_(account), messenger_(messenger), post_(std::move(post)) {}

ArchiveService::~ArchiveService() = default;

bool ArchiveService::handles(const std::string& cmd) {
  return cmd == "search" || cmd == "export" || cmd == "export_progress";
}

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

void ArchiveService::handle(const std::string& cmd, const nlohmann::json& request, Reply reply,
                            StatusJson status_json) {
  if (cmd == "search") {
    const auto limit_it = request.find("limit");
    const int64_t limit = limit_it != request.end() && limit_it->is_number_integer()
                              ? limit_it->get<int64_t>()
                              : kDefaultSearchLimit;
    auto hits = search(text_field(request, "query"), text_field(request, "in"), limit);
    if (!hits.is_ok()) return reply(status_json(hits.status()));
    auto out = nlohmann::json::array();
    for (const auto& hit : hits.value()) out.push_back(search_hit_object(hit));
    return reply(nlohmann::json{{"ok", true}, {"hits", out}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (cmd == "export_progress") {
    auto progress = export_progress();
    return reply(
        nlohmann::json{{"ok", true},
                       {"running", progress.has_value()},
                       {"progress", export_progress_object(progress.value_or(ExportProgress{}))}}
            .dump());
  }
  // export
  ExportOptions options;
  options.out = text_field(request, "out");
  if (!options.out.empty() && options.out.front() != '/') {
    return reply(status_json(Status::invalid_argument(
        "the node needs an absolute path for the export file, not " + options.out)));
  }
  const std::string format = text_field(request, "format");
  auto named = export_format_named(format.empty() ? "json" : format);
  if (!named) {
    return reply(status_json(
        Status::invalid_argument("unknown export format '" + format + "' (json or text)")));
  }
  options.format = *named;
  options.in = text_field(request, "in");
  const auto since_it = request.find("since");
  if (since_it != request.end() && since_it->is_number_integer()) {
    options.since_ms = since_it->get<int64_t>();
  }
  const auto force_it = request.find("force");
  options.force = force_it != request.end() && force_it->is_boolean() && force_it->get<bool>();
  start_export(options, [reply, status_json](Result<ExportSummary> done) {
    reply(done.is_ok()
              ? nlohmann::json{{"ok", true}, {"export", export_summary_object(done.value())}}.dump()
              : status_json(done.status()));
  });
}

}  // namespace sotto::core
