#!/bin/sh
# Two `make deb` runs from clean clones of HEAD must give byte-identical .debs. The clones lie
# in different directories (of different depth), and the builds run under a different umask,
# time zone and locale, and start at different times, as two independent builders would. By
# default the second starts when the first has finished; REPRO_STAGGER=SECONDS starts it that
# long after the first instead, the two overlapping (half the wall time on a busy machine).
# Usage: packaging/check-reproducible.sh [WORKDIR]   (default: a new directory under /tmp)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/sotto-repro.XXXXXX)}
mkdir -p "$work"
commit=$(git -C "$root" rev-parse HEAD)
echo "deb-repro: commit $commit, in $work"

build() { # DIR UMASK TZ LANG
  echo "deb-repro: building in $1 (started $(date -u +%H:%M:%S) UTC)"
  rm -rf "$1"
  mkdir -p "$(dirname "$1")"
  git clone -q --no-hardlinks "$root" "$1"
  git -C "$1" checkout -q "$commit"
  (cd "$1" && umask "$2" && TZ=$3 LANG=$4 LC_ALL=$4 make --no-print-directory deb \
    BUILD=build >"$1.log" 2>&1) || { tail -n 30 "$1.log" >&2; exit 1; }
  echo "deb-repro: built in $1 (umask $2, TZ=$3, LANG=$4; finished $(date -u +%H:%M:%S) UTC)"
}
if [ -n "${REPRO_STAGGER:-}" ]; then
  build "$work/first" 0022 UTC C.UTF-8 &
  first=$!
  sleep "$REPRO_STAGGER"
  build "$work/second/at/another/depth" 0002 Pacific/Auckland C
  wait "$first"
else
  build "$work/first" 0022 UTC C.UTF-8
  build "$work/second/at/another/depth" 0002 Pacific/Auckland C
fi
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -SVersion)
deb="build/deb/sotto_${version}_amd64.deb"
a=$(sha256sum "$work/first/$deb" | cut -d' ' -f1)
b=$(sha256sum "$work/second/at/another/depth/$deb" | cut -d' ' -f1)
echo "deb-repro: first  $a  sotto_${version}_amd64.deb"
echo "deb-repro: second $b  sotto_${version}_amd64.deb"
if [ "$a" != "$b" ]; then
  echo "deb-repro: the two packages differ" >&2
  if command -v diffoscope >/dev/null; then
    diffoscope "$work/first/$deb" "$work/second/at/another/depth/$deb" >&2 || true
  fi
  exit 1
fi
echo "deb-repro: identical"
