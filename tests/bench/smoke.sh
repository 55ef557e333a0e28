#!/usr/bin/env bash
# smoke.sh <wf> <wf-bench> — run.sh W1..W4 with tiny sizes on an existing build, then check
# that every RESULT line is there and well formed, and that W3 executed exactly one step
# twice when killed inside it and none when killed between steps.
set -euo pipefail

WF=${1:?usage: smoke.sh <wf> <wf-bench>}
BENCH=${2:?usage: smoke.sh <wf> <wf-bench>}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wf-bench-smoke.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { printf 'bench smoke: %s\n' "$*" >&2; exit 1; }

N=20 C=4 K=5 LIMIT_COMMIT_N=50 LIMIT_SPAWN_N=50 WF_BIN=$WF WF_BENCH_BIN=$BENCH \
  WF_BENCH_DIR=$scratch bash "$here/run.sh" W1 W2 W3 W4 >"$scratch/out" ||
  { cat "$scratch/out"; fail "run.sh failed"; }
cat "$scratch/out"

num='[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?'
head="^RESULT engine=wf workload=[A-Za-z0-9_]+ n=[0-9]+ wall_s=$num steps_per_s=$num( |$)"
bad=$(grep -Ev "$head" "$scratch/out" || true)
[[ -z $bad ]] || fail "malformed lines:
$bad"

# expect PATTERN COUNT: COUNT RESULT lines match the extended regex PATTERN.
expect() {
  local got
  got=$(grep -Ec "$1" "$scratch/out" || true)
  [[ $got == "$2" ]] || fail "$2 line(s) expected to match '$1', found $got"
}
expect 'workload=limit_commit .*limit_commit_per_s=' 1
expect 'workload=limit_spawn .*limit_spawn_per_s=' 1
expect "workload=W1 n=20 .*p50_step_ms=$num p99_step_ms=$num .*ratio=" 1
expect "workload=W2 n=20 .*max_inflight=[0-9]+ .*ratio=" 1
expect "workload=W3 n=20 .* dups=1 recovery_s=$num .*resume_s=$num crash_point=in-step " 1
expect "workload=W3 n=20 .* dups=0 recovery_s=$num .*resume_s=$num crash_point=next-step " 1
expect "workload=W4 n=20 .*ratio=" 1
echo "bench smoke: ok"
