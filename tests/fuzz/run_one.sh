#!/usr/bin/env bash
# Run one fuzz target for a while on a scratch copy of its seed corpus.
#
#   tests/fuzz/run_one.sh BINARY WORKDIR [SECONDS]
#
# BINARY is build-dir/fuzz/fuzz_<name>; its seeds are tests/fuzz/corpus/<name>/ (and
# tests/fuzz/dict/<name>.dict when present). SECONDS defaults to $WF_FUZZ_SECONDS, else 60.
# The corpus grows in WORKDIR/<name>/corpus (copied afresh each run); the log is
# WORKDIR/<name>/fuzz.log; a crashing, leaking or timing-out input is kept in
# WORKDIR/<name>/findings-<time>/. Prints
#   FUZZ target=<name> execs=<n> seconds=<s> crashes=<k>
# and exits 0 only when the run found nothing.
set -uo pipefail

if (($# < 2)); then
  sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
bin=$1
workroot=$2
seconds=${3:-${WF_FUZZ_SECONDS:-60}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[[ -x $bin ]] || { echo "run_one: no fuzz binary at $bin" >&2; exit 2; }
[[ $seconds =~ ^[0-9]+$ ]] && ((seconds > 0)) || {
  echo "run_one: seconds must be a positive number, not \"$seconds\"" >&2
  exit 2
}
name=$(basename "$bin")
name=${name#fuzz_}
seeds=$here/corpus/$name
work=$workroot/$name
findings=$work/findings-$(date +%Y%m%d-%H%M%S)

rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$findings"
if [[ -d $seeds ]]; then
  cp -R "$seeds/." "$work/corpus/"
fi
# A fixed seed (WF_FUZZ_SEED, default 1; 0 = random) and a cap on executions
# (WF_FUZZ_RUNS, default 800000, about a minute for the slowest target here) make a run
# repeat exactly the same inputs in the same order: what CI finds can be found again on
# any machine, and a faster machine does not wander past what was checked. Raise both to
# explore further.
args=(-seed="${WF_FUZZ_SEED:-1}" -runs="${WF_FUZZ_RUNS:-800000}" -max_total_time="$seconds"
      -print_final_stats=1 -timeout=25 -rss_limit_mb=2048
      -artifact_prefix="$findings/")
[[ -f $here/dict/$name.dict ]] && args+=(-dict="$here/dict/$name.dict")

# Sanitizer reports must end the run (libFuzzer keeps the input that caused them).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

"$bin" "${args[@]}" "$work/corpus" >"$work/fuzz.log" 2>&1
rc=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/fuzz.log" | tail -1)
if [[ -z $execs ]]; then
  # no final stats (the run died): the last status line's count
  execs=$(grep -o '^#[0-9]*' "$work/fuzz.log" | tail -1 | tr -d '#')
fi
found=$(find "$findings" -type f | wc -l)
echo "FUZZ target=$name execs=${execs:-0} seconds=$seconds crashes=$found"

if ((rc != 0 || found > 0)); then
  echo "run_one: $name: libFuzzer exit $rc; log $work/fuzz.log" >&2
  grep -E -A40 '^==[0-9]+==ERROR|^SUMMARY|runtime error|fuzz invariant failed|deadly signal' \
    "$work/fuzz.log" | head -80 >&2
  find "$findings" -type f -printf 'run_one: kept %p\n' >&2
  exit 1
fi
rmdir "$findings" 2>/dev/null || true
exit 0
