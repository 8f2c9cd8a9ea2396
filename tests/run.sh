#!/bin/sh
# Runs the Catch2 test binary in random order (fixed seed, so a failure can be replayed) and ends
# with the plain summary line "tests: N passed, N failed, N skipped", counted in test cases.
#
# Skips (tests/support/skip.h): a test case whose prerequisite is missing (root, alsa-utils'
# sounds, tmux, strace) is counted as skipped, not passed, and listed above the summary with its
# reason; so is each check a build leaves out (memory bounds under a sanitizer), though its test
# case still counts as passed. The test binary appends them to the file named by SOTTO_SKIP_LOG.
# When CI=true or SOTTO_REQUIRE_PREREQUISITES=1 (`make test` run as root sets it: `make deps`
# has installed everything then), a missing prerequisite fails its test case instead.
set -u
bin=${1:?usage: tests/run.sh TEST_BINARY [catch2 args]}
shift
log=$(mktemp)
skips=$(mktemp)
trap 'rm -f "$log" "$skips"' EXIT
SOTTO_SKIP_LOG=$skips timeout --signal=KILL "${SOTTO_TEST_TIMEOUT:-900}" "$bin" --order rand \
  --rng-seed "${SOTTO_TEST_SEED:-20261123}" "$@" 2>&1 | tee "$log"
# Catch2's pipe status: POSIX sh has no PIPESTATUS, so re-derive failure from the summary too.
summary=$(grep -E '^(All tests passed|test cases:)' "$log" | tail -n 1)
total=$(printf '%s' "$summary" | sed -n 's/.* in \([0-9]*\) test case.*/\1/p')
if [ -n "$total" ]; then
  passed=$total; failed=0
else
  passed=$(printf '%s' "$summary" | sed -n 's/.*| *\([0-9]*\) passed.*/\1/p')
  failed=$(printf '%s' "$summary" | sed -n 's/.*| *\([0-9]*\) failed.*/\1/p')
  # "test cases: 2 | 2 passed" (no assertion ran, e.g. every case skipped) names no failures.
  if [ -z "$passed" ] && [ -z "$failed" ]; then failed=1; fi
  [ -n "$passed" ] || passed=0
  [ -n "$failed" ] || failed=0
fi
# A test case may record the same skip more than once (once per section it runs).
list() { grep "^$1	" "$skips" | cut -f2- | sort -u; }
skipped=$(list skip | cut -f1 | sort -u | wc -l)
unchecked=$(list unchecked | wc -l)
# Catch2 counted the skipped test cases as passed.
passed=$((passed > skipped ? passed - skipped : 0))
if [ "$skipped" -gt 0 ]; then
  echo "skipped test cases ($skipped):"
  list skip | sed 's/	/: /; s/^/  /'
fi
if [ "$unchecked" -gt 0 ]; then
  echo "checks not made in this build ($unchecked; their test cases count as passed):"
  list unchecked | sed 's/	/: /; s/^/  /'
fi
# CI keeps only the tail of a run: name the failed test cases again just above the summary.
# Catch2's console reporter heads each failure with its test case's name between two rules.
failures=$(awk '
  /^-----+$/ { if (inhead) { inhead = 0 } else { inhead = 1; name = "" } next }
  inhead { sub(/^ +/, ""); name = name == "" ? $0 : name " " $0; next }
  /FAILED:$/ && !(name in seen) { seen[name] = 1; print "  " name }
' "$log")
if [ -n "$failures" ]; then
  echo "failed test cases:"
  printf '%s\n' "$failures"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ -n "$summary" ] || exit 1
