#!/bin/sh
# Runs inside the minimal root of packaging/bundle-test.sh, with no network but lo: installs the
# bundle, then uses sotto as its user would.
set -eu
bundle=${1:?usage: inside.sh BUNDLE_DIR}
step() { echo "bundle-test: $*"; }

step "sh install.sh"
sh "$bundle/install.sh"

step "sotto --version"
sotto --version

step "man sotto (first lines)"
MANWIDTH=80 man sotto 2>&1 | head -n 6
man -w sotto.toml sotto-security

step "two nodes on loopback"
for who in alice bob; do
  printf '%s passphrase, long enough\n' "$who" >"/tmp/$who.pass"
  sotto --profile "/tmp/$who" --passphrase-file "/tmp/$who.pass" init --name "$who" \
    --kdf interactive >/dev/null
done
sotto --profile /tmp/alice --passphrase-file /tmp/alice.pass daemon \
  --listen tcp://127.0.0.1:7001 --no-discovery >/tmp/alice.log 2>&1 &
alice=$!
sotto --profile /tmp/bob --passphrase-file /tmp/bob.pass daemon \
  --listen tcp://127.0.0.1:7002 --no-discovery --peer tcp://127.0.0.1:7001 >/tmp/bob.log 2>&1 &
bob=$!
trap 'kill $alice $bob 2>/dev/null || true' EXIT

# Polls COMMAND's output for TEXT for up to 30 s.
wait_for() {
  text=$1
  shift
  tries=0
  until "$@" 2>/dev/null | grep -q -- "$text"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 150 ]; then
      echo "bundle-test: waited 30 s for '$text' from: $*" >&2
      cat /tmp/alice.log /tmp/bob.log >&2
      exit 1
    fi
    sleep 0.2
  done
}
wait_for online sotto --profile /tmp/alice peers
sotto --profile /tmp/alice peers
sotto --profile /tmp/alice add bob
sotto --profile /tmp/alice send bob "carried in on removable media"
wait_for "carried in on removable media" sotto --profile /tmp/bob history
sotto --profile /tmp/bob history
step "bob received alice's message"
