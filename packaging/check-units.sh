#!/bin/sh
# Checks the service units as the .deb installs them: `systemd-analyze verify` (which also runs
# the binary's path and `man` for every Documentation= page), then `systemd-analyze security`,
# whose overall exposure must be "OK" or better (below 4.0, "MEDIUM").
#
# The package is not installed: its files are laid over /usr/bin and the manual path inside a
# mount namespace of this script's own, which ends with it. Needs root (for that namespace).
set -eu
deb=${1:?usage: packaging/check-units.sh SOTTO.deb}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root"
mkdir -m 0700 "$tmp/runtime"
# An instance of the template, as `systemctl start sotto@mailbox` would load it.
cp "$tmp/root/lib/systemd/system/sotto@.service" "$tmp/sotto@mailbox.service"
cp "$tmp/root/usr/lib/systemd/user/sotto.service" "$tmp/sotto.service"

unshare --mount sh -eu -c '
  tmp=$1
  mount --make-rprivate /
  mount -t overlay overlay -o "lowerdir=$tmp/root/usr/bin:/usr/bin" /usr/bin
  export MANPATH="$tmp/root/usr/share/man:/usr/share/man" XDG_RUNTIME_DIR="$tmp/runtime"
  systemd-analyze verify "$tmp/sotto@mailbox.service"
  echo "units: sotto@.service verifies"
  systemd-analyze verify --user "$tmp/sotto.service"
  echo "units: sotto.service (user) verifies"
' sh "$tmp"

exposure() {
  XDG_RUNTIME_DIR="$tmp/runtime" systemd-analyze security --offline=true "$@" 2>&1 |
    sed -n 's/^→ Overall exposure level for \(.*\)$/\1/p'
}
failed=0
for level in "$(exposure "$tmp/sotto@mailbox.service")" "$(exposure --user "$tmp/sotto.service")"; do
  echo "units: exposure of $level"
  case $level in
    *" OK "* | *" SAFE "* | *" PERFECT "*) ;;
    *) failed=1 ;;
  esac
done
[ "$failed" -eq 0 ] || { echo "units: an exposure is worse than OK" >&2; exit 1; }
