#include "tests/support/crash_points.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "sotto/base/process.h"
#include "src/cli/app.h"

namespace sotto::test {
namespace {

constexpr struct {
  CrashPoint point;
  const char* name;
} kNames[] = {
    {CrashPoint::kAfterDecryptBeforeCommit, "after-decrypt-before-commit"},
    {CrashPoint::kAfterCommitBeforeReceipt, "after-commit-before-receipt"},
    {CrashPoint::kAfterEncryptBeforeCommit, "after-encrypt-before-commit"},
    {CrashPoint::kAfterCommitBeforeSend, "after-commit-before-send"},
    {CrashPoint::kMailboxForwarded, "mailbox-forwarded"},
};

// The armed point and how many more hits it lets pass. Set once before sotto runs; the handler
// may be called from any thread (the node's loop in practice).
CrashPoint g_armed = CrashPoint::kAfterDecryptBeforeCommit;
std::atomic<int> g_hits_left{0};
// The stderr line, made before arming: the handler only writes and dies.
std::string g_line;

void die_at(CrashPoint point) {
  if (point != g_armed || g_hits_left.fetch_sub(1) != 1) return;
  (void)!::write(STDERR_FILENO, g_line.data(), g_line.size());
  // As `kill -9` would: no destructor, atexit handler or stdio flush runs.
  ::kill(::getpid(), SIGKILL);
}

}  // namespace

std::string crash_point_name(CrashPoint point) {
  for (const auto& entry : kNames) {
    if (entry.point == point) return entry.name;
  }
  return "unknown";
}

std::optional<CrashPoint> parse_crash_point(const std::string& name) {
  for (const auto& entry : kNames) {
    if (name == entry.name) return entry.point;
  }
  return std::nullopt;
}

std::string crash_point_line(CrashPoint point) {
  return "crash point " + crash_point_name(point) + " reached";
}

std::vector<std::string> crash_launcher(CrashPoint point, int countdown) {
  return {std::filesystem::read_symlink("/proc/self/exe").string(), "--as-sotto", "--crash-at",
          crash_point_name(point) + ":" + std::to_string(countdown)};
}

int run_as_sotto(int argc, char** argv) {
  int first = 1;  // argv[0] is "--as-sotto"
  if (argc > 2 && std::string(argv[1]) == "--crash-at") {
    const std::string spec = argv[2];
    const size_t colon = spec.rfind(':');
    const auto point = parse_crash_point(spec.substr(0, colon));
    const int countdown = colon == std::string::npos ? 0 : std::atoi(spec.c_str() + colon + 1);
    if (!point || countdown < 1) {
      std::fprintf(stderr, "--crash-at POINT:N (N >= 1), not '%s'\n", spec.c_str());
      return 2;
    }
    g_armed = *point;
    g_hits_left = countdown;
    g_line = crash_point_line(*point) + "\n";
    set_crash_handler(die_at);
    first = 3;
  }
  // The rest is `sotto ARGS...`, as src/cli/main.cpp runs it.
  std::vector<char*> args = {const_cast<char*>("sotto")};
  args.insert(args.end(), argv + first, argv + argc);
  args.push_back(nullptr);
  harden_process();
  return cli::run(static_cast<int>(args.size()) - 1, args.data());
}

}  // namespace sotto::test
