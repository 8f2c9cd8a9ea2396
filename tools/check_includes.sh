#!/usr/bin/env bash
# check_includes: fails when an #include runs up a layer (modelled on toxcore's
# other/analysis/check_includes). Run from anywhere; `make check-includes` runs it, and so does
# `make test`.
#
# The layers, bottom up, and what each may include (doc/architecture.md, Layers):
#   base                    the standard library
#   storage                 base
#   crypto                  base, storage (the Signal store lives in the profile's database)
#   net                     base, crypto (beacons and hellos are signed)
#   voice                   base (a clip's hash comes from libsodium, not crypto)
#   core                    all of the above, their private src/ headers included
#   tui, cli                core's and base's public headers (include/sotto/{core,base}) only;
#                           cli may start the tui
#   tests                   anything
# And, whatever the layer:
#   - a public header (include/) includes no private header (src/, storage/*.h), no generated
#     protobuf (sotto.pb.h), and no C library header: the library's types stay behind the layer;
#   - only tui/terminal.cpp includes curses, and the front ends include no other C library;
#   - the front ends name no lower layer's namespace (storage::, crypto::, net::, voice::), which
#     core's public headers make visible: core re-exports what a front end needs.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A may_include=(
  [base]="base"
  [storage]="base storage"
  [crypto]="base storage crypto"
  [net]="base crypto net"
  [voice]="base voice"
  [core]="base storage crypto net voice core"
  [tui]="base core tui"
  [cli]="base core tui cli"
)
front_ends=" tui cli "
c_library_headers=" zmq.h signal_protocol.h sqlite3.h sqlcipher/sqlite3.h opus.h opus/opus.h ogg/ogg.h
  portaudio.h curses.h ncurses.h ncursesw/curses.h sodium.h "

# Sets `layer` to the layer that owns a source path (empty: not checked). No subshell: this
# runs once per #include line.
set_layer_of_file() {
  case "$1" in
    include/sotto/*/*) layer=${1#include/sotto/}; layer=${layer%%/*} ;;
    src/*/*) layer=${1#src/}; layer=${layer%%/*} ;;
    storage/*) layer=storage ;;
    tui/*) layer=tui ;;
    *) layer="" ;;
  esac
}

errors=0
fail() {
  echo "check-includes: $1" >&2
  errors=$((errors + 1))
}

files=$(find include src storage tui -name '*.h' -o -name '*.cpp' | sort)
while IFS=: read -r file line text; do
  set_layer_of_file "$file"
  [ -n "$layer" ] || continue
  where="$file:$line: $text"
  public_header=0
  [[ $file == include/* ]] && public_header=1

  if [[ $text =~ \<([^>]+)\> ]]; then
    header=${BASH_REMATCH[1]}
    if [[ $c_library_headers == *" $header "* ]]; then
      [ $public_header -eq 1 ] && fail "$where: a public header includes a C library header"
      if [[ $front_ends == *" $layer "* && $header != *curses* ]]; then
        fail "$where: a front end includes a C library header"
      fi
      if [[ $header == *curses* && $file != tui/terminal.cpp ]]; then
        fail "$where: only tui/terminal.cpp includes curses"
      fi
    fi
    continue
  fi
  [[ $text =~ \"([^\"]+)\" ]] || continue
  header=${BASH_REMATCH[1]}

  private=1
  case "$header" in
    sotto/*/*) private=0; target=${header#sotto/}; target=${target%%/*} ;;
    src/*/*) target=${header#src/}; target=${target%%/*} ;;
    storage/*) target=storage ;;
    tui/*) target=tui ;;
    sotto.pb.h) target=net ;;
    sotto_migrations.inc) target=storage ;;
    *) fail "$where: an include outside the source tree's layout"; continue ;;
  esac

  if [ $public_header -eq 1 ] && [ $private -eq 1 ]; then
    fail "$where: a public header includes a private or generated one"
    continue
  fi
  if [[ " ${may_include[$layer]} " != *" $target "* ]]; then
    fail "$where: $layer may not include $target (it may include: ${may_include[$layer]})"
    continue
  fi
  # A front end uses what core and base publish, never a layer's internals.
  if [[ $front_ends == *" $layer "* && $private -eq 1 && $target != "$layer" && $target != tui ]]; then
    fail "$where: a front end includes $target's private header"
  fi
done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' $files | sed -E 's/^([^:]+):([0-9]+):[[:space:]]*/\1:\2:/')

# Code, not comments: a `//` and what follows it is dropped before matching.
while IFS=: read -r file line text; do
  fail "$file:$line: a front end names a lower layer: $text"
done < <(find src/cli tui -name '*.h' -o -name '*.cpp' | sort | xargs awk '
  { code = $0; sub(/\/\/.*/, "", code) }
  code ~ /(^|[^A-Za-z0-9_:])(storage|crypto|net|voice)::/ {
    sub(/^[ \t]+/, "", code); print FILENAME ":" FNR ":" code
  }')

if [ $errors -ne 0 ]; then
  echo "check-includes: $errors layering error(s)" >&2
  exit 1
fi
echo "check-includes: clean"
