#!/bin/sh
# Installs sotto from this directory alone, on Debian 12 (amd64), as root:
#   sh install.sh
# First every file is checked against SHA256SUMS; then apt installs sotto (and man-db) with this
# directory as its only package source, so it asks no network. The system's own package lists
# and sources are left as they were.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo sh install.sh)" >&2
  exit 1
fi
if ! sha256sum --check --strict --quiet SHA256SUMS; then
  echo "install.sh: a file does not match SHA256SUMS: the bundle is damaged or altered;" \
    "nothing was installed" >&2
  exit 1
fi
echo "install.sh: every file matches SHA256SUMS"
echo "install.sh: SHA-256 of SHA256SUMS: $(sha256sum SHA256SUMS | cut -d' ' -f1)"
echo "install.sh: compare it with the one published where the bundle was made (README.txt)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/sources.list.d"
# A path with spaces cannot stand in a sources.list line; a link to it can.
ln -s "$here" "$tmp/bundle"
# trusted=yes: the index is unsigned; SHA256SUMS, checked above, vouches for it.
echo "deb [trusted=yes] file:$tmp/bundle ./" >"$tmp/sources.list"
set -- -q -o Dir::Etc::SourceList="$tmp/sources.list" \
  -o Dir::Etc::SourceParts="$tmp/sources.list.d" -o Dir::State::Lists="$tmp/lists" \
  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root \
  -o Acquire::Languages=none
apt-get "$@" update
DEBIAN_FRONTEND=noninteractive apt-get "$@" install -y --no-install-recommends sotto man-db
echo "install.sh: installed: $(sotto --version | head -n 1)"
