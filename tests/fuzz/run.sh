#!/usr/bin/env bash
# Build the fuzz targets with clang in ./build-fuzz and run each for a while.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); TARGETs are names such as record or tf_parse (default:
# all of tests/fuzz/fuzz_*.c). Targets run one after another, each on a scratch copy of
# tests/fuzz/corpus/<target>/ under build-fuzz/fuzz-work/. Prints one line per target:
#   FUZZ target=<t> execs=<n> seconds=<s> crashes=<k>
# and exits non-zero when any target found something; the input that did it is kept
# (its path is printed). $WF_FUZZ_BUILD overrides the build directory; warnings are
# errors unless $WF_WERROR is OFF.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${WF_FUZZ_BUILD:-$root/build-fuzz}

seconds=60
if (($#)) && [[ $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
case ${1:-} in
  -h | --help) sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
esac
((seconds > 0)) || { echo "run.sh: seconds must be positive" >&2; exit 2; }

targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$here"/fuzz_*.c; do
    t=$(basename "$f" .c)
    targets+=("${t#fuzz_}")
  done
fi
for t in "${targets[@]}"; do
  [[ -f $here/fuzz_$t.c ]] || { echo "run.sh: unknown target \"$t\"" >&2; exit 2; }
done

command -v clang >/dev/null || { echo "run.sh: clang is needed (apt-get install clang)" >&2; exit 2; }

if ! grep -q 'add_subdirectory(fuzz)' "$root/tests/CMakeLists.txt"; then
  echo "run.sh: tests/CMakeLists.txt does not add tests/fuzz (add_subdirectory(fuzz))" >&2
  exit 2
fi

say() { printf '==> %s\n' "$*"; }
jobs=$(nproc 2>/dev/null || echo 2)

say "configure: $build (clang, WF_FUZZ, WF_SANITIZE)"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWF_BUILD_TESTS=ON -DWF_FUZZ=ON -DWF_SANITIZE=ON -DWF_WERROR="${WF_WERROR:-ON}" >/dev/null
say "build: ${targets[*]}"
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
if ! cmake --build "$build" -j"$jobs" --target "${build_targets[@]}" >"$build/fuzz-build.log" 2>&1; then
  cat "$build/fuzz-build.log" >&2
  echo "run.sh: build failed (log above)" >&2
  exit 1
fi

failed=()
for t in "${targets[@]}"; do
  say "fuzz: $t for ${seconds}s"
  bash "$here/run_one.sh" "$build/fuzz/fuzz_$t" "$build/fuzz-work" "$seconds" || failed+=("$t")
done
if ((${#failed[@]})); then
  echo "run.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
say "no findings"
