# The rolling window: --window N, a stage's concurrency and by_class limits bound how many
# steps run at once (measured by the steps themselves), and the limits are not waves.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log

# run_traced NAME DEF ARGS...: start DEF with a fresh trace file, check all 8/6 steps ran.
run_traced() {
  local name=$1 def=$2
  shift 2
  rm -f "$log"
  ok wf start "$def" -p log="$log" --run-id "$name" "$@"
}

run_traced w1 "$DEFS/window.json" --window 1
m=$(max_overlap "$log")
assert_eq "$m" 1 "max steps at once with --window 1"
assert_eq "$(grep -c '^end' "$log")" 8 "steps finished with --window 1"

run_traced w3 "$DEFS/window.json" --window 3
m=$(max_overlap "$log")
((m <= 3)) || fail "--window 3 let $m steps run at once"
((m >= 2)) || fail "--window 3 never ran two steps at once (max $m)"

# Without --window more than three run at once (the default window is not tiny).
run_traced wdef "$DEFS/window.json"
m=$(max_overlap "$log")
((m >= 4)) || fail "the default window ran at most $m of 8 steps at once"

# Stage concurrency 2.
run_traced c2 "$DEFS/concurrency.json"
m=$(max_overlap "$log")
((m <= 2)) || fail "concurrency 2 let $m steps run at once"
((m == 2)) || fail "concurrency 2 never ran two steps at once"
# --window 1 is stricter than the stage's 2.
run_traced c2w1 "$DEFS/concurrency.json" --window 1
assert_eq "$(max_overlap "$log")" 1 "concurrency 2 with --window 1"

# by_class {A: 1, B: 1}: one A and one B at a time, so two at once overall.
run_traced bc "$DEFS/byclass.json"
assert_eq "$(max_overlap "$log" A)" 1 "class A steps at once"
assert_eq "$(max_overlap "$log" B)" 1 "class B steps at once"
assert_eq "$(max_overlap "$log")" 2 "steps at once over both classes"
assert_eq "$(grep -c '^end' "$log")" 6 "by_class steps finished"
run_json bc
assert_json "$SCRATCH/run.json" '[.steps[] | select(.key | startswith("work/")) | .key] | sort == ["work/A-0","work/A-2","work/A-4","work/B-1","work/B-3","work/B-5"]'

# Rolling, not waves: with --window 2, one step of 1.5 s and five of 0.1 s, the short
# ones all run in the second slot while the long one is still running.
run_traced roll "$DEFS/rolling.json" --window 2
assert_eq "$(max_overlap "$log")" 2 "--window 2"
long_end=$(awk '$1 == "end" && $4 == "work/0" { print $2 }' "$log")
last_start=$(awk '$1 == "start" && $4 == "work/5" { print $2 }' "$log")
[[ -n $long_end && -n $last_start ]] || { cat "$log" >&2; fail "trace lacks work/0 or work/5"; }
less_than "$last_start" "$long_end" ||
  { cat "$log" >&2; fail "work/5 started after the long work/0 ended: the window moves in waves"; }

note "windows ok"
