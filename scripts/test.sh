#!/usr/bin/env bash
# Build wf with its tests and run the quick suites twice: in ./build (RelWithDebInfo) and in
# ./build-asan (AddressSanitizer + UndefinedBehaviorSanitizer, Debug); build the example of
# docs/examples against ./build installed, through pkg-config; then run every fuzz target
# for WF_FUZZ_SECONDS (default 60) in ./build-fuzz.
# The quick suites are every ctest label except crash, bench and fuzz; the short crash
# runs (label crash-quick) are part of them. Every build treats warnings as errors
# (WF_WERROR=ON), the fuzz build too.
#
#   scripts/test.sh           quick suites, normal and sanitizer builds
#   scripts/test.sh --quick   skip the sanitizer build and the fuzzing
#   scripts/test.sh --all     also the long crash tests (label crash: 1000 deaths, 500 kills...)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=0
all=0
for arg in "$@"; do
  case $arg in
    --quick) quick=1 ;;
    --all) all=1 ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "test: unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }

./scripts/setup.sh --deps-only --test-deps

jobs=$(nproc 2>/dev/null || echo 2)
if ((all)); then
  exclude='^(bench|fuzz)$'
else
  exclude='^(crash|bench|fuzz)$'
fi

# build_and_test DIR CMAKE-ARGS...: configure, build, run the selected ctest labels.
# Called in an `||` list, where set -e does not apply: every step checks for itself.
build_and_test() {
  local dir=$1
  shift
  say "configure: $dir/ ($*)"
  cmake -S . -B "$dir" -DWF_BUILD_TESTS=ON -DWF_WERROR=ON "$@" >/dev/null || return 1
  say "build: $dir/ -j$jobs"
  if ! cmake --build "$dir" -j"$jobs" >"$dir/test-build.log" 2>&1; then
    cat "$dir/test-build.log" >&2
    echo "test: build failed in $dir/ (log above)" >&2
    return 1
  fi
  say "test: $dir/ (ctest -LE '$exclude')"
  ctest --test-dir "$dir" --output-on-failure -LE "$exclude" -j2 || return 1
}

# check_example DIR: install DIR's build to a scratch prefix, build docs/examples/list_runs.c
# against it through the installed wf.pc (as a program embedding wf would), and list the
# runs of a small store with it; the installed header, wf.pc and `wf --version` must give
# one version. Every step checks for itself, as in build_and_test.
check_example() {
  local dir=$1 tmp pc out
  tmp=$(mktemp -d)
  say "example: docs/examples/list_runs.c against $dir/ installed in $tmp"
  # pkg-config of the scratch install only
  wfpc() { PKG_CONFIG_PATH=${pc%/*} pkg-config "$@" wf; }
  cmake --install "$dir" --prefix "$tmp/prefix" >/dev/null &&
    pc=$(find "$tmp/prefix" -name wf.pc -print -quit) && [[ -n $pc ]] &&
    cc -std=c11 -Wall -Wextra -Werror docs/examples/list_runs.c $(wfpc --cflags --libs) \
      -o "$tmp/list_runs" &&
    "$tmp/prefix/bin/wf" --home "$tmp/home" start tests/data/wf/three.json --run-id example \
      -p log="$tmp/log" >/dev/null &&
    out=$("$tmp/list_runs" "$tmp/home") && grep -q '^example  *three  *succeeded ' <<<"$out" &&
    out=$("$tmp/list_runs" "$tmp/home" failed) && [[ $out == "no runs" ]] &&
    printf '#include <stdio.h>\n#include <wf/wf.h>\nint main(void) { puts(WF_VERSION_STRING); }\n' \
      >"$tmp/version.c" &&
    cc -std=c11 "$tmp/version.c" $(wfpc --cflags) -o "$tmp/version" &&
    out="$("$tmp/version") $(wfpc --modversion) $("$tmp/prefix/bin/wf" --version)" &&
    [[ $out =~ ^([0-9.]+)\ ([0-9.]+)\ wf\ ([0-9.]+)$ &&
      ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" && ${BASH_REMATCH[1]} == "${BASH_REMATCH[3]}" ]]
  local rc=$?
  ((rc)) && echo "test: the example did not build or list the runs, or wf.h, wf.pc and" \
    "wf --version differ (output: ${out:-none})" >&2
  rm -rf "$tmp"
  return "$rc"
}

failed=()

build_and_test build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWF_SANITIZE=OFF || failed+=(build)
check_example build || failed+=(example)

if ((!quick)); then
  # LeakSanitizer needs ptrace-like access some sandboxes deny; probe it once so a
  # restricted machine gets a warning instead of every test failing.
  leaks=1
  probe=$(mktemp -d)
  printf 'int main(void) { return 0; }\n' >"$probe/p.c"
  if cc -fsanitize=address "$probe/p.c" -o "$probe/p" 2>/dev/null &&
    ! ASAN_OPTIONS=detect_leaks=1 "$probe/p" >/dev/null 2>&1; then
    echo "test: warning: LeakSanitizer does not work here; running without leak detection" >&2
    leaks=0
  fi
  rm -rf "$probe"
  export ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  build_and_test build-asan -DCMAKE_BUILD_TYPE=Debug -DWF_SANITIZE=ON || failed+=(build-asan)
  # Every fuzz target for a while on its corpus (clang, ASan, UBSan): WF_FUZZ_SECONDS each.
  say "fuzz: tests/fuzz/run.sh ${WF_FUZZ_SECONDS:-60}"
  WF_WERROR=ON tests/fuzz/run.sh "${WF_FUZZ_SECONDS:-60}" || failed+=(fuzz)
fi

if ((${#failed[@]})); then
  echo "test: FAILED in: ${failed[*]}" >&2
  exit 1
fi
say "all tests passed"
