// The arming side of sotto's crash points (include/sotto/base/crash_point.h), which lives in the
// test binary only: `sotto-tests --as-sotto [--crash-at POINT:N] ARGS...` runs the sotto command
// line (ARGS as `sotto ARGS` would take them) in a process that SIGKILLs itself on the Nth time
// it reaches POINT, after writing "crash point POINT reached" to stderr. A DaemonProfile can
// start its daemon that way (crash_launcher() gives the command).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sotto/base/crash_point.h"

namespace sotto::test {

// "after-decrypt-before-commit" and so on; parse_crash_point gives nullopt for an unknown name.
std::string crash_point_name(CrashPoint point);
std::optional<CrashPoint> parse_crash_point(const std::string& name);

// The line the armed process writes to stderr just before it kills itself.
std::string crash_point_line(CrashPoint point);

// The command that runs this test binary as sotto with `point` armed to fire on its
// `countdown`th hit (counting from 1): for DaemonProfile::set_launcher().
std::vector<std::string> crash_launcher(CrashPoint point, int countdown);

// Entry for `sotto-tests --as-sotto ...`: argv[0] is "--as-sotto". Returns the exit code.
int run_as_sotto(int argc, char** argv);

}  // namespace sotto::test
