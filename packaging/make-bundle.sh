#!/bin/sh
# Writes the offline bundle OUTDIR/sotto-offline-VERSION/ and its tar from the .deb given:
#   debs/         sotto's .deb and every package it needs that a minimal Debian 12 lacks
#   Packages, Release   a local repository index over debs/
#   install.sh    checks SHA256SUMS, then installs with apt from this directory alone
#   README.txt    what the administrator does
#   SHA256SUMS    of every other file
#
# "What a minimal Debian 12 lacks" is resolved by apt, never listed by hand: apt resolves, as
# if on an empty system, the install of the minimal system (the packages of priority required,
# and apt: what debootstrap --variant=minbase installs), and then of the same plus sotto and
# man-db (the manual is all the documentation an air-gapped host has); the packages the second
# adds are the bundle's. Both use this machine's package lists (Debian 12's archive).
set -eu
deb=${1:?usage: packaging/make-bundle.sh SOTTO.deb OUTDIR}
out=${2:?usage: packaging/make-bundle.sh SOTTO.deb OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
version=$(dpkg-deb -f "$deb" Version)
name="sotto-offline-$version"
mkdir -p "$out"
out=$(cd "$out" && pwd)
bundle="$out/$name"
rm -rf "$bundle" "$bundle.tar"
mkdir -p "$bundle/debs"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/status"
# Resolution only: an empty installed set, no cache files written, no lock taken.
resolve() {
  apt-get -s -q -o Dir::State::status="$tmp/status" -o Dir::Cache::pkgcache= \
    -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1 -o APT::Install-Recommends=false \
    -o APT::Architecture=amd64 install "$@" |
    sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1=\2/p' | sort
}
required=$(apt-cache dumpavail |
  awk '/^Package:/ { p = $2 } /^Priority: required/ { print p }' | sort -u)
# debootstrap satisfies init-system-helpers' "usrmerge | usr-is-merged" with the second (it
# merges /usr itself); left to choose, apt takes usrmerge and perl with it, which a minimal
# system lacks.
minimal="$required apt usr-is-merged"
# shellcheck disable=SC2086 # one package a word
resolve $minimal >"$tmp/minimal"
# shellcheck disable=SC2086
resolve $minimal man-db "$deb" >"$tmp/with-sotto"
comm -13 "$tmp/minimal" "$tmp/with-sotto" | grep -v '^sotto=' >"$tmp/needed" || true
[ -s "$tmp/with-sotto" ] || { echo "make-bundle: apt resolved nothing" >&2; exit 1; }

cp "$deb" "$bundle/debs/"
(cd "$bundle/debs" && xargs apt-get download -q -o APT::Sandbox::User=root <"$tmp/needed" >/dev/null)
echo "make-bundle: sotto and $(wc -l <"$tmp/needed") packages a minimal Debian 12 lacks"

(cd "$bundle" && dpkg-scanpackages -m debs /dev/null 2>/dev/null >Packages)
(cd "$bundle" && apt-ftparchive \
  -o APT::FTPArchive::Release::Origin=sotto-offline \
  -o APT::FTPArchive::Release::Label="sotto offline bundle" \
  -o APT::FTPArchive::Release::Suite=offline \
  -o APT::FTPArchive::Release::Date="$(date -u -R -d "@$SOURCE_DATE_EPOCH")" \
  release . >"$tmp/Release" && mv "$tmp/Release" Release)
install -m 0755 "$root/packaging/bundle/install.sh" "$bundle/install.sh"
sed "s/@VERSION@/$version/g" "$root/packaging/bundle/README.txt" >"$bundle/README.txt"
(cd "$bundle" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort |
  xargs sha256sum >SHA256SUMS)

tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  -C "$out" -cf "$bundle.tar" "$name"
echo "make-bundle: $bundle/ and $bundle.tar"
echo "make-bundle: SHA-256 of SHA256SUMS: $(sha256sum "$bundle/SHA256SUMS" | cut -d' ' -f1)"
