#!/usr/bin/env bash
# sources.sh <source-dir>: every C file of a library or program folder is named in that
# folder's CMakeLists.txt. Sources are listed there one by one (no file(GLOB)), so a file
# added, or renamed, without its line would otherwise just not be built.
set -u
root=${1:?usage: sources.sh <source-dir>}
dirs=(store engine activities activities/toggl_fibery workflows cli tests/bench tests/stubs
  tests/unit/toggl_fibery)
missing=0
for d in "${dirs[@]}"; do
  list=$root/$d/CMakeLists.txt
  if grep -n 'file(GLOB' "$list"; then
    echo "FAIL [lint.sources]: $d/CMakeLists.txt gathers files with file(GLOB) (above):" \
      "name each source" >&2
    missing=1
  fi
  for f in "$root/$d"/*.c; do
    [[ -e $f ]] || continue
    name=$(basename "$f" .c)
    if ! grep -qw -- "$name" "$list"; then
      echo "FAIL [lint.sources]: $d/$name.c is not named in $d/CMakeLists.txt: add it to" \
        "its target's sources (or remove the file)" >&2
      missing=1
    fi
  done
done
exit "$missing"
