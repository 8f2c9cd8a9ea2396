#!/bin/sh
# Turns storage/migrations/NNNN_name.sql into C++ initialisers {NNNN, "sql"} for storage/migrations.cpp.
# The file name's number is the schema version (PRAGMA user_version) the script upgrades to.
set -eu
for f in "$@"; do
  base=$(basename "$f")
  version=$(printf '%s' "$base" | sed -n 's/^0*\([0-9][0-9]*\)_.*\.sql$/\1/p')
  [ -n "$version" ] || { echo "embed_migrations: bad migration name $base (want NNNN_name.sql)" >&2; exit 1; }
  if grep -q ')sql"' "$f"; then echo "embed_migrations: $base contains the delimiter )sql\"" >&2; exit 1; fi
  printf '{%s, R"sql(' "$version"
  cat "$f"
  printf ')sql"},\n'
done
