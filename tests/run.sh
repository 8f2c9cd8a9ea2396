#!/bin/sh
# Runs the Catch2 test binary in random order (fixed seed, so a failure can be replayed) and ends
# with the plain summary line "N passed, N failed" counted in test cases.
set -u
bin=${1:?usage: tests/run.sh TEST_BINARY [catch2 args]}
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
timeout --signal=KILL "${SOTTO_TEST_TIMEOUT:-900}" "$bin" --order rand --rng-seed "${SOTTO_TEST_SEED:-20261123}" "$@" 2>&1 | tee "$log"
rc=$?
# Catch2's pipe status: POSIX sh has no PIPESTATUS, so re-derive failure from the summary too.
summary=$(grep -E '^(All tests passed|test cases:)' "$log" | tail -n 1)
total=$(printf '%s' "$summary" | sed -n 's/.* in \([0-9]*\) test case.*/\1/p')
if [ -n "$total" ]; then
  passed=$total; failed=0
else
  passed=$(printf '%s' "$summary" | sed -n 's/.*| *\([0-9]*\) passed.*/\1/p')
  failed=$(printf '%s' "$summary" | sed -n 's/.*| *\([0-9]*\) failed.*/\1/p')
  [ -n "$passed" ] || passed=0
  [ -n "$failed" ] || failed=1
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ -n "$summary" ] || exit 1
