#!/bin/sh
# Proves the offline bundle on a machine that never saw the network:
#   1. a minimal Debian 12 root (debootstrap --variant=minbase from the Debian archive apt uses,
#      cached in build/bundle-test/ and copied afresh for every run);
#   2. entered in new network, mount and PID namespaces: the only interface is lo;
#   3. inside, the bundle's install.sh, then sotto --version, man sotto and a two-node text
#      exchange on loopback (packaging/bundle-test-inside.sh).
# Needs root. DEBIAN_MIRROR overrides the archive.
set -eu
tarball=${1:?usage: packaging/bundle-test.sh sotto-offline-VERSION.tar}
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/build/bundle-test"
cache="$work/minbase-bookworm"
run="$work/root"

mirror=${DEBIAN_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  /etc/apt/sources.list.d/*.sources 2>/dev/null |
  sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\/debian\) bookworm .*/\2/p;
          s/^URIs: \(http[^ ]*\/debian\)$/\1/p' | head -n 1)}
[ -n "$mirror" ] || { echo "bundle-test: no Debian mirror found; set DEBIAN_MIRROR" >&2; exit 1; }

if [ ! -e "$cache/.complete" ]; then
  echo "bundle-test: debootstrap --variant=minbase bookworm from $mirror (once; cached)"
  rm -rf "$cache"
  mkdir -p "$work"
  debootstrap --variant=minbase bookworm "$cache" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    exit 1
  }
  # Nothing apt fetched stays behind: the root has no package lists and no archive.
  rm -rf "$cache"/var/lib/apt/lists/* "$cache"/var/cache/apt/archives/*.deb
  touch "$cache/.complete"
fi
rm -rf "$run"
cp -a "$cache" "$run"
echo "bundle-test: a fresh minimal Debian 12 root with $(chroot "$run" dpkg-query -W | wc -l)" \
  "packages; package lists: $(find "$run/var/lib/apt/lists" -type f | wc -l) files"
tar -xf "$tarball" -C "$run/root"
bundle=$(basename "$tarball" .tar)
install -m 0755 "$root/packaging/bundle-test-inside.sh" "$run/root/inside.sh"

unshare --net --mount --pid --fork sh -eu -c '
  run=$1 bundle=$2
  ip link set lo up
  echo "bundle-test: network interfaces in the namespace: $(ip -o link show | cut -d: -f2 | tr -d " " | tr "\n" " ")"
  mount --make-rprivate /
  mount -t proc proc "$run/proc"
  mount --rbind /dev "$run/dev"
  mount -t tmpfs tmpfs "$run/tmp"
  exec chroot "$run" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM=dumb /bin/sh /root/inside.sh "/root/$bundle"
' sh "$run" "$bundle"
echo "bundle-test: passed"
