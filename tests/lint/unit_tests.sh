#!/usr/bin/env bash
# unit_tests.sh <source-dir>: unit tests are registered one by one (tests/CMakeLists.txt,
# tests/unit/toggl_fibery/CMakeLists.txt), so a test file nobody registered would never
# run: every tests/unit/**/test_*.c is registered, and every registration has its file.
set -u
root=${1:?usage: unit_tests.sh <source-dir>}
fail=0
check() { # check <dir> <cmake file> <function>
  local dir=$1 cmake=$2 fn=$3 f name
  for f in "$root/$dir"/test_*.c; do
    name=$(basename "$f" .c)
    if ! grep -qE "^$fn\($name( |\))" "$root/$cmake"; then
      echo "$dir/$name.c is not registered in $cmake ($fn)"
      fail=1
    fi
  done
  for name in $(sed -nE "s/^$fn\((test_[a-z0-9_]+).*/\1/p" "$root/$cmake"); do
    if [ ! -f "$root/$dir/$name.c" ]; then
      echo "$cmake registers $name, but $dir/$name.c does not exist"
      fail=1
    fi
  done
}
check tests/unit tests/CMakeLists.txt wf_unit_test
check tests/unit/toggl_fibery tests/unit/toggl_fibery/CMakeLists.txt wf_tf_test
if [ $fail -ne 0 ]; then
  echo "FAIL [lint.unit_tests]: register each unit test with the libraries it links" >&2
  exit 1
fi
