// Skips that are counted and named, never passed in silence.
//
// A test case whose prerequisite is missing (root for network namespaces, alsa-utils' sample
// sounds, tmux, strace) calls SOTTO_SKIP / SOTTO_SKIP_UNLESS. tests/run.sh counts it as skipped,
// not passed, and names it with its reason at the end of the run. Where the prerequisites must
// be there, a skip is a failure instead: when CI=true, or SOTTO_REQUIRE_PREREQUISITES=1 (what
// `make test` sets when it runs as root, after `make deps` installed every package). There a
// missing prerequisite is a broken set-up, which a skip would hide.
//
// A check that one build cannot make (a memory bound under a sanitizer, whose shadow memory
// swamps it) is left out with CHECK_UNLESS: the test case still passes, and the runner lists
// the check as not made. That is never a failure: no set-up gives a sanitizer build those checks.
//
// How the runner learns of them: it names a file in SOTTO_SKIP_LOG, and each skip or check left
// out appends one line to it, "skip<TAB>test case<TAB>reason" or "unchecked<TAB>...". Without
// SOTTO_SKIP_LOG (the binary run by hand) they show as Catch2 warnings only.
#pragma once

#include <catch2/catch.hpp>
#include <string>

namespace sotto::test {

// Why the voice tests cannot run without alsa-utils.
inline constexpr const char* kNoAlsaSpeech = "alsa-utils sample sounds missing (run make deps)";

// Whether a skip fails instead (see above).
bool prerequisites_required();
// Records that the running test case is skipped for `reason`; FAILs it instead when
// prerequisites are required. The caller returns straight after.
void skip(const std::string& reason);
// Records that the running test case leaves out one check, for `reason`.
void unchecked(const std::string& reason);

}  // namespace sotto::test

#define SOTTO_SKIP(reason)       \
  do {                           \
    ::sotto::test::skip(reason); \
    return;                      \
  } while (false)

#define SOTTO_SKIP_UNLESS(present, reason) \
  do {                                     \
    if (!(present)) SOTTO_SKIP(reason);    \
  } while (false)

// CHECK(...) unless `leave_out`; then the check is recorded as not made, for `why`.
#define CHECK_UNLESS(leave_out, why, ...) \
  do {                                    \
    if (leave_out) {                      \
      ::sotto::test::unchecked(why);      \
    } else {                              \
      CHECK(__VA_ARGS__);                 \
    }                                     \
  } while (false)
