// `sotto search QUERY` and `sotto export --out FILE` (man sotto, issue 8): through the running
// node when there is one (it holds the database), else on the profile unlocked here.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sotto/base/display_text.h"
#include "sotto/base/duration.h"
#include "sotto/core/archive.h"
#include "sotto/core/control_client.h"
#include "sotto/core/json.h"
#include "sotto/core/offline.h"
#include "src/cli/commands.h"

namespace sotto::cli {
namespace {

using nlohmann::json;
using SteadyTime = std::chrono::steady_clock;

// The node may run in another directory: it gets absolute paths.
std::string absolute(const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// --since: a local date, "YYYY-MM-DD", optionally with " HH:MM[:SS]" (or 'T' between).
Result<int64_t> parse_since(const std::string& text) {
  for (const char* format :
       {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    tm.tm_isdst = -1;
    const std::time_t seconds = std::mktime(&tm);
    if (seconds == static_cast<std::time_t>(-1)) break;
    return static_cast<int64_t>(seconds) * 1000;
  }
  return Status::invalid_argument("--since '" + text +
                                  "' is not a date: use YYYY-MM-DD or 'YYYY-MM-DD HH:MM'");
}

// A bar on stderr, for exports long enough to wonder about (only on a terminal).
class ProgressBar {
 public:
  ProgressBar() : enabled_(::isatty(STDERR_FILENO) == 1), started_(SteadyTime::now()) {}
  ~ProgressBar() { clear(); }

  void show(double fraction, int64_t messages) {
    if (!enabled_) return;
    const auto now = SteadyTime::now();
    if (now - started_ < std::chrono::milliseconds(300)) return;  // short: no bar at all
    if (shown_ && now - drawn_ < std::chrono::milliseconds(100)) return;
    constexpr int kWidth = 30;
    const double f = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
    const int filled = static_cast<int>(f * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\rexporting [%s] %3d%%  %lld messages", bar.c_str(),
                 static_cast<int>(f * 100), static_cast<long long>(messages));
    std::fflush(stderr);
    shown_ = true;
    drawn_ = now;
  }
  void clear() {
    if (!shown_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  SteadyTime::time_point started_;
  SteadyTime::time_point drawn_;
};

// The export request through the node: sent on one connection, its progress asked on another
// while it runs (the reply comes once the export is complete).
Result<json> export_through_node(const GlobalOptions& options, const json& request,
                                 ProgressBar& bar) {
  SOTTO_ASSIGN_OR_RETURN(auto client, core::ControlClient::connect(options.dir()));
  SOTTO_ASSIGN_OR_RETURN(auto watcher, core::ControlClient::connect(options.dir()));
  SOTTO_RETURN_IF_ERROR(client->send(request.dump()));
  for (;;) {
    SOTTO_ASSIGN_OR_RETURN(auto reply, client->reply(200));
    if (reply) {
      auto parsed = json::parse(*reply, nullptr, false);
      if (!parsed.is_object()) return Status::internal("unexpected reply from the node");
      if (!parsed.value("ok", false)) return status_of_reply(parsed);
      return parsed;
    }
    // Still running: the node answers progress at once, or it is gone.
    auto progress = watcher->request(json{{"cmd", "export_progress"}}.dump(), 5000);
    if (!progress.is_ok()) {
      return Status::unavailable("the node stopped answering before the export was complete");
    }
    auto parsed = json::parse(progress.value(), nullptr, false);
    if (parsed.is_object() && parsed.value("running", false) && parsed["progress"].is_object()) {
      bar.show(parsed["progress"].value("fraction", 0.0),
               parsed["progress"].value("messages", int64_t{0}));
    }
  }
}

}  // namespace

int run_search(const GlobalOptions& options, const std::string& query, const std::string& in,
               int64_t limit) {
  std::vector<json> hits;
  if (core::node_running(options.dir())) {
    auto reply =
        ask_node(options, {{"cmd", "search"}, {"query", query}, {"in", in}, {"limit", limit}});
    if (!reply.is_ok()) return fail(reply.status());
    for (const auto& h : reply.value()["hits"]) hits.push_back(h);
  } else {
    auto account = unlock_offline(options);
    if (!account.is_ok()) return fail(account.status());
    auto found = core::offline_search(*account.value(), query, in, limit);
    if (!found.is_ok()) return fail(found.status());
    for (const auto& h : found.value()) hits.push_back(core::search_hit_object(h));
  }
  for (const auto& h : hits) {
    if (options.json) {
      std::cout << json_line(h) << "\n";
      continue;
    }
    const std::string who =
        h.value("outgoing", false) ? std::string("me") : shown(h, "sender_name");
    std::cout << local_time_text(h.value("time", int64_t{0})) << "  "
              << shown(h, "conversation_name") << "  " << who << ": " << shown(h, "snippet")
              << "\n";
  }
  if (hits.empty() && !options.json) std::cout << "no messages match\n";
  return kExitOk;
}

int run_export(const GlobalOptions& options, const ExportArgs& args) {
  auto format = core::export_format_named(args.format);
  if (!format) return fail(Status::invalid_argument("--format must be json or text"));
  core::ExportOptions request;
  request.out = absolute(args.out);
  request.format = *format;
  request.in = args.in;
  request.force = args.force;
  auto voice = core::voice_file_format_named(args.voice);
  if (!voice) return fail(Status::invalid_argument("--voice must be ogg or wav"));
  request.voice = *voice;
  if (!args.since.empty()) {
    auto since = parse_since(args.since);
    if (!since.is_ok()) return fail(since.status());
    request.since_ms = since.value();
  }
  // Before any passphrase is asked for; the writer checks again.
  if (!args.force) {
    for (const std::string& path : {request.out, request.out + ".voice"}) {
      if (exists(path)) {
        return fail(Status::invalid_argument(path + " exists; add --force to overwrite it"));
      }
    }
  }

  json summary;
  ProgressBar bar;
  if (core::node_running(options.dir())) {
    json message{{"cmd", "export"},  {"out", request.out},     {"format", args.format},
                 {"in", request.in}, {"force", request.force}, {"voice", args.voice}};
    if (request.since_ms) message["since"] = *request.since_ms;
    auto reply = export_through_node(options, message, bar);
    bar.clear();
    if (!reply.is_ok()) return fail(reply.status());
    summary = reply.value()["export"];
  } else {
    auto account = unlock_offline(options);
    if (!account.is_ok()) return fail(account.status());
    auto done = core::offline_export(*account.value(), request, [&](const core::ExportProgress& p) {
      bar.show(p.fraction, p.messages);
    });
    bar.clear();
    if (!done.is_ok()) return fail(done.status());
    summary = core::export_summary_object(done.value());
  }

  const std::string voice_dir = shown(summary, "voice_dir");
  std::fprintf(stderr,
               "sotto: warning: %s%s%s is plaintext: anyone who can read it can read these "
               "messages; keep it safe and delete it when done\n",
               display_text(request.out).c_str(), voice_dir.empty() ? "" : " (with ",
               voice_dir.empty() ? "" : (voice_dir + "/)").c_str());
  if (options.json) {
    std::cout << json_line(summary) << "\n";
  } else {
    std::cout << "exported " << summary.value("messages", int64_t{0}) << " messages";
    const int64_t clips = summary.value("voice_clips", int64_t{0});
    if (clips > 0) std::cout << " and " << clips << " voice clips (" << voice_dir << "/)";
    std::cout << " to " << shown(summary, "file") << "\n";
  }
  return kExitOk;
}

}  // namespace sotto::cli
