#!/usr/bin/env bash
# run.sh — wf benchmarks: builds Release, runs the workloads, prints one RESULT line each.
#
#   tests/bench/run.sh [W1|W2|W3|W4|scale|gc|all ...]   (default: all)
#
#   RESULT engine=wf workload=<id> n=<N> wall_s=<x> steps_per_s=<y> [dups=<d> recovery_s=<r>] [k=v ...]
#
# Sizes (environment): N steps (W1, W2: 1000; W3, W4: 200), C in flight (W2: 32, W4: 8),
# K the step W3 crashes in (100, at most N/2). scale: RESUME_N=100000 RUNS_N=100000
# RSS_N=1000000. gc: GC_N=10000 runs of 10 steps deleted by `wf gc`. Limits: LIMIT_COMMIT_N=1000 commits, LIMIT_SPAWN_N=2000 spawns.
# REPEAT=R runs the whole selection R times, then prints SUMMARY lines: median [min-max].
# The build goes to WF_BENCH_BUILD (default build-bench/); WF_BIN and WF_BENCH_BIN given
# together skip the build and use those binaries. Scratch stores go to WF_BENCH_DIR
# (default: a fresh folder under the build folder), removed at the end.
# Exit status 1 when a measurement fails or W3 executes a step a wrong number of times.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# ---- arguments and build -------------------------------------------------------------

sel=()
for a in "${@:-all}"; do
  case $a in
    all) sel+=(W1 W2 W3 W4 scale gc) ;;
    W1 | W2 | W3 | W4 | scale | gc) sel+=("$a") ;;
    -h | --help) sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown workload \"$a\" (W1, W2, W3, W4, scale, gc or all)" ;;
  esac
done
has() { [[ " ${sel[*]} " == *" $1 "* ]]; }

if [[ -n ${WF_BIN:-} && -n ${WF_BENCH_BIN:-} ]]; then
  WF=$WF_BIN
  BENCH=$WF_BENCH_BIN
  build=$(dirname "$BENCH")
else
  build=${WF_BENCH_BUILD:-$root/build-bench}
  say "build: $build (Release)"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWF_BUILD_TESTS=ON >/dev/null
  cmake --build "$build" -j"$(nproc)" --target wf wf-bench >"$build/bench-build.log" 2>&1 ||
    { cat "$build/bench-build.log" >&2; die "build failed"; }
  WF=$build/bin/wf
  BENCH=$build/tests/bench/wf-bench
fi
[[ -x $WF && -x $BENCH ]] || die "missing binaries: $WF, $BENCH"

if [[ -n ${WF_BENCH_DIR:-} ]]; then
  mkdir -p "$WF_BENCH_DIR"
  scratch=$(mktemp -d "$WF_BENCH_DIR/run.XXXXXX")
else
  scratch=$(mktemp -d "$build/bench-data.XXXXXX")
fi
trap 'rm -rf "$scratch"' EXIT
export NO_COLOR=1
say "machine: $(nproc) cpus, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg); scratch $scratch"

# ---- helpers ----------------------------------------------------------------------------

# kv NAME LINE: the value of NAME= in a k=v line.
kv() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' <<<"$2"; }
# calc EXPR [FORMAT]: a floating point expression evaluated by awk (default 4 digits).
calc() { awk "BEGIN { printf \"${2:-%.4g}\", $1 }"; }
# yesno EXPR: "yes" when the awk condition holds.
yesno() { awk "BEGIN { print ($1) ? \"yes\" : \"no\" }"; }
result() { echo "RESULT engine=wf workload=$1 ${*:2}"; }

# The limits: they set limit_commit (and commit_line) and limit_spawn for the ratios.
measure_limit_commit() {
  commit_line=$("$BENCH" limit-commit --dir "$scratch/limit" --n "${LIMIT_COMMIT_N:-1000}")
  rm -rf "$scratch/limit"
  limit_commit=$(kv steps_per_s "$commit_line")
  result limit_commit "$commit_line limit_commit_per_s=$limit_commit"
}

measure_limit_spawn() {
  local out
  out=$("$BENCH" limit-spawn --n "${LIMIT_SPAWN_N:-2000}" --c "${C:-8}")
  limit_spawn=$(kv steps_per_s "$out")
  result limit_spawn "$out limit_spawn_per_s=$limit_spawn"
}

# ---- workloads ------------------------------------------------------------------------

run_w1() {
  local out sps p50 lat
  out=$("$BENCH" w1 --dir "$scratch/w1" --n "${N:-1000}")
  rm -rf "$scratch/w1"
  sps=$(kv steps_per_s "$out")
  p50=$(kv p50_step_ms "$out")
  lat=$(kv p50_commit_ms "$commit_line")
  result W1 "$out limit_commit_per_s=$limit_commit ratio=$(calc "$sps / $limit_commit")" \
    "ratio_p50=$(calc "$lat / $p50") target_ratio=0.8 meets_target=$(yesno "$sps >= 0.8 * $limit_commit")"
}

run_w2() {
  local out sps
  out=$("$BENCH" w2 --dir "$scratch/w2" --n "${N:-1000}" --c "${C:-32}")
  rm -rf "$scratch/w2"
  sps=$(kv steps_per_s "$out")
  result W2 "$out ratio=$(calc "$sps / 100000") commit_ratio=$(calc "$sps / $limit_commit")" \
    "target_steps_per_s=100000 meets_target=$(yesno "$sps >= 100000")"
}

# W3 for one crash point. The resumed process executes the steps from K (in-step) or K+1
# (next-step) on, each with its own commit: recovery_floor_s is what the commit limit
# allows for them, ratio their rate over that limit.
run_w3_at() {
  local point=$1 want=$2 n=${N:-200} k out dups rec left
  k=${K:-100}
  ((k <= n / 2)) || k=$((n / 2))
  out=$("$BENCH" w3 --dir "$scratch/w3" --n "$n" --k "$k" --crash-point "$point")
  rm -rf "$scratch/w3"
  dups=$(kv dups "$out")
  rec=$(kv recovery_s "$out")
  left=$((n - k - (1 - want)))
  result W3 "$out expected_dups=$want ratio=$(calc "$left / $rec / $limit_commit")" \
    "recovery_floor_s=$(calc "$left / $limit_commit") target_recovery_s=0.05" \
    "meets_target=$(yesno "$rec < 0.05 && $dups == $want")"
  [[ $dups == "$want" ]] || die "W3 crash_point=$point: dups=$dups, expected $want"
}

run_w3() {
  run_w3_at in-step 1
  run_w3_at next-step 0
}

run_w4() {
  local n=${N:-200} c=${C:-8} home=$scratch/w4 out sps ok
  out=$("$BENCH" time --n 1 -- "$WF" --home "$home" start "$here/w4.json" -p "n=$n" \
    --window "$c" --run-id w4)
  ok=$("$WF" --home "$home" show-run w4 | awk '$1 ~ /^work\// && $2 == "succeeded"' | wc -l)
  rm -rf "$home"
  ((ok == n)) || die "W4: $ok of $n steps succeeded"
  sps=$(calc "$n / $(kv wall_s "$out")" %.1f)
  result W4 "n=$n wall_s=$(kv wall_s "$out") steps_per_s=$sps c=$c rss_mb=$(kv rss_mb "$out")" \
    "limit_spawn_per_s=$limit_spawn ratio=$(calc "$sps / $limit_spawn") target_ratio=0.6" \
    "meets_target=$(yesno "$sps >= 0.6 * $limit_spawn")"
}

run_scale() {
  local rn=${RESUME_N:-100000} un=${RUNS_N:-100000} sn=${RSS_N:-1000000} out t id home
  say "scale: resume_100k (recording $rn steps)"
  "$BENCH" resume-build --dir "$scratch/resume" --n "$rn" >/dev/null
  out=$("$BENCH" resume-time --dir "$scratch/resume" --n "$rn")
  rm -rf "$scratch/resume"
  t=$(kv resume_s "$out")
  result resume_100k "$out resume_100k=$t target_s=0.3 meets_target=$(yesno "$t < 0.3")"

  say "scale: show_run, list_failed ($un runs)"
  out=$("$BENCH" runs-build --dir "$scratch/runs" --n "$un")
  id=$(kv show_id "$out")
  home=$scratch/runs/home
  out=$("$BENCH" time --n 5 -- "$WF" --home "$home" show-run "$id")
  t=$(calc "$(kv wall_s "$out") * 1000")
  result show_run "n=$un wall_s=$(kv wall_s "$out") steps_per_s=$(calc "3 / $(kv wall_s "$out")" %.1f)" \
    "show_run_ms=$t target_ms=5 meets_target=$(yesno "$t < 5")"
  out=$("$BENCH" time --n 5 -- "$WF" --home "$home" list-runs --status failed --limit 50)
  t=$(calc "$(kv wall_s "$out") * 1000")
  result list_failed "n=$un wall_s=$(kv wall_s "$out") steps_per_s=$(calc "50 / $(kv wall_s "$out")" %.1f)" \
    "list_failed_ms=$t target_ms=10 meets_target=$(yesno "$t < 10")"
  rm -rf "$scratch/runs"

  say "scale: rss_1m ($sn items)"
  out=$("$BENCH" rss --dir "$scratch/rss" --n "$sn" --c 32)
  rm -rf "$scratch/rss"
  t=$(kv rss_mb "$out")
  result rss_1m "$out rss_1m_mb=$t target_mb=100 meets_target=$(yesno "$t < 100")"
}

# gc: a store of GC_N 40-day-old runs of 10 steps (records, run folders, logs) and 100 recent
# ones; `wf gc --older-than 30d` must delete the old ones in under 5 s and leave list-runs
# showing exactly the recent ones.
run_gc() {
  local n=${GC_N:-10000} keep=100 home=$scratch/gc/home t0 t left size
  say "gc: $n runs of 10 steps"
  "$BENCH" gc-build --dir "$scratch/gc" --n "$n" --c "$keep" >/dev/null
  size=$(stat -c %s "$home/store/data.mdb")
  t0=$(date +%s.%N)
  "$WF" --home "$home" gc --older-than 30d >"$scratch/gc.out" || die "wf gc failed"
  t=$(calc "$(date +%s.%N) - $t0")
  left=$("$WF" --home "$home" list-runs --limit 0 -o ids)
  [[ $(grep -c '^new-' <<<"$left") == "$keep" && $(grep -vc '^new-' <<<"$left") == 0 ]] ||
    die "gc: list-runs after gc is wrong: $(head -c 300 <<<"$left")"
  [[ -z $(find "$home/runs" "$home/logs" -maxdepth 1 -name 'old-*' | head -1) ]] ||
    die "gc: folders of deleted runs are left"
  grep -q "deleted $n runs" "$scratch/gc.out" || die "gc: $(cat "$scratch/gc.out")"
  rm -rf "$scratch/gc"
  result gc "n=$n wall_s=$t steps_per_s=$(calc "$n * 10 / $t" %.1f) gc_s=$t" \
    "store_mb=$(calc "$size / 1048576" %.1f) target_s=5 meets_target=$(yesno "$t < 5")"
}

# One pass over the selection; limits are measured right before what they bound.
run_all() {
  if has W1 || has W2 || has W3; then
    say "limit: fully synced LMDB commits"
    measure_limit_commit
  fi
  for w in W1 W2 W3; do has $w && { say "$w"; "run_${w,,}"; }; done
  if has W4; then
    say "limit: posix_spawn of /bin/true"
    measure_limit_spawn
    say W4
    run_w4
  fi
  if has scale; then run_scale; fi
  if has gc; then run_gc; fi
}

# SUMMARY lines: per workload (and W3 crash point), median [min-max] of every number, and
# in how many repetitions the target was met.
summarize() {
  awk '{
      g = ""; for (i = 3; i <= NF; i++) if ($i ~ /^(workload|crash_point)=/) g = g $i " "
      for (i = 3; i <= NF; i++) {
        split($i, kvp, "="); v = kvp[2]
        if (kvp[1] == "meets_target") v = v == "yes" ? 1 : 0
        if (kvp[1] != "workload" && v ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) print g "\t" i "\t" kvp[1] "\t" v
      }
    }' "$1" | sort -t $'\t' -k1,1 -k2,2n -k4,4g |
    awk -F '\t' '
      function flush(  s, i) {
        if (!n) return
        if (key == "meets_target") { for (i = 1; i <= n; i++) s += v[i]; s = s "/" n }
        else if (v[1] == v[n]) s = v[1]
        else s = sprintf("%s [%s-%s]", v[int((n + 1) / 2)], v[1], v[n])
        line[grp] = line[grp] " " key "=" s
      }
      { if ($1 != grp || $3 != key) { flush(); if (!($1 in line)) order[++ng] = $1; n = 0 }
        grp = $1; key = $3; v[++n] = $4 }
      END { flush(); for (i = 1; i <= ng; i++) print "SUMMARY " order[i] "reps=" reps line[order[i]] }
    ' reps="${REPEAT:-1}"
}

reps=${REPEAT:-1}
if ((reps <= 1)); then
  run_all
else
  for ((r = 1; r <= reps; r++)); do
    say "repetition $r of $reps"
    run_all | tee -a "$scratch/results"
  done
  summarize "$scratch/results"
fi
