# A stage never runs without its input: a plan whose --only/--skip leaves out a stage that
# a selected stage needs is refused (exit 2, both stages named, nothing recorded) unless
# the run named by --run-id recorded that stage's output, which is then reused.
source "$(dirname "$0")/lib.sh" "$@"

T=$DEFS/three.json   # a -> b -> c
log=$SCRATCH/log

note "a new run: c needs b, which --skip or --only leaves out"
expect_exit 2 wf start "$T" -p log="$log" --skip b
assert_contains "$ERR" "stage c needs stage b, which --only/--skip leaves out, and a new run has no output of b to use"
assert_contains "$ERR" "nothing was recorded"
expect_exit 2 wf start "$T" -p log="$log" --skip b --dry-run
assert_contains "$ERR" "stage c needs stage b"
assert_not_contains "$OUT" "c                        runs"
expect_exit 2 wf start "$T" -p log="$log" --only a,c --run-id n1
assert_contains "$ERR" "stage c needs stage b"
expect_exit 2 wf start "$T" -p log="$log" --only b --to c
assert_contains "$ERR" "stage b needs stage a"
assert_eq "$(lines "$log")" 0 "steps executed by refused starts"
ok wf list-runs -o ids
assert_eq "$(cat "$OUT")" "" "runs recorded by refused starts"
# Leaving out what nothing selected needs is fine.
ok wf start "$T" -p log="$log" --to b --run-id to
assert_eq "$(tr '\n' ' ' <"$log")" "a b " "--to b"

note "an existing run that recorded b: b's output is reused"
: >"$log"
ok wf start "$T" -p log="$log" --run-id R
: >"$log"
ok wf start "$T" -p log="$log" --run-id R --start-from a --skip b --dry-run
grep -Eq '^ +b +not run' "$OUT" || { show_captured; fail "dry run: b is not shown as left out"; }
ok wf start "$T" -p log="$log" --run-id R --start-from a --skip b
assert_eq "$(tr '\n' ' ' <"$log")" "a c " "--start-from a --skip b on a run that recorded b"
run_json R --history
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "c") | .status == "succeeded"'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "b") | .output == {"stage":"b","n":2}'
assert_json "$SCRATCH/run.json" '[.events[] | select(.type == "step_skipped" and .step == "b")
  | .detail] | last | contains("use its recorded output")'

note "an existing run whose needed stage failed: refused, naming the run"
: >"$log"
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id F
expect_exit 2 wf start "$DEFS/fail.json" --run-id F --start-from after --skip bad
assert_contains "$ERR" "stage after needs stage bad, which --only/--skip leaves out, and run F has no succeeded output of bad to reuse"
assert_eq "$(cat "$log")" "first" "steps executed by the refused restart"

note "selection ok"
