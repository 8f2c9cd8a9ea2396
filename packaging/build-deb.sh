#!/bin/sh
# Builds sotto_VERSION_amd64.deb from the source tree this script lives in, into OUTDIR.
#
# The build runs in a fresh copy of the tree (the files git tracks, plus untracked ones that are
# not ignored; the whole tree less build/ outside git), never in the working tree: no build/ of
# the developer's can leak in, and dpkg-buildpackage writes its results next to that copy.
#
# Reproducible (doc/install.md): SOURCE_DATE_EPOCH is the last commit's time (the changelog's
# date outside git), debian/rules maps the build path out of the binary (-ffile-prefix-map) and
# fixes the locale, and dpkg-deb clamps every file's time to SOURCE_DATE_EPOCH.
set -eu
out=${1:?usage: packaging/build-deb.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(dpkg-parsechangelog -l "$root/debian/changelog" -SVersion)

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null ||
    dpkg-parsechangelog -l "$root/debian/changelog" -STimestamp)
fi
export SOURCE_DATE_EPOCH

mkdir -p "$out"
out=$(cd "$out" && pwd)
work="$out/src"
tree="$work/sotto-$version"
rm -rf "$work"
mkdir -p "$tree"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    xargs -0 cp --parents -t "$tree")
else
  (cd "$root" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$tree"
fi

jobs=$(nproc 2>/dev/null || echo 1)
(cd "$tree" && dpkg-buildpackage -b -us -uc -j"$jobs" >"$work/build.log" 2>&1) || {
  tail -n 40 "$work/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed; the whole log is $work/build.log" >&2
  exit 1
}
deb="sotto_${version}_amd64.deb"
mv "$work/$deb" "$out/$deb"
for f in "$work"/sotto-dbgsym_"${version}"_amd64.*deb; do
  [ -e "$f" ] && mv "$f" "$out/"
done
echo "$out/$deb"
