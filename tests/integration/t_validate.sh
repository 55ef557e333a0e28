#!/usr/bin/env bash
# Stages marked "validate" run before the run exists: a check that fails for good refuses
# the start (exit 2, nothing recorded); one that passes is not repeated (the run records
# its output); one that cannot tell (a retryable failure) is left to the run. Declared
# parameter constraints refuse a start before anything runs at all.
source "$(dirname "$0")/lib.sh" "$@"

DEF=$DEFS/checked.json

note "a check that fails for good: exit 2, nothing recorded"
counter=$SCRATCH/refused
expect_exit 2 wf start "$DEF" -p counter="$counter" -p verdict=3 --run-id no
assert_contains "$ERR" 'stage "check" (checked before the run is created)'
assert_contains "$ERR" "no such customer"
assert_contains "$ERR" "nothing was recorded"
assert_not_contains "$ERR" "wf resume"
assert_eq "$(lines "$counter")" 1 "attempts of the refused check"
expect_exit 3 wf show-run no
[[ ! -e $WF_HOME/runs/no ]] || fail "the refused start left a run folder"

note "a check that passes runs once: the run records its output"
counter=$SCRATCH/passed
ok wf start "$DEF" -p counter="$counter" --run-id yes
assert_eq "$(lines "$counter")" 1 "runs of the check"
run_json yes
assert_json "$SCRATCH/run.json" '.status == "succeeded"'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "check") | .status == "succeeded" and .output.checked == true'

note "--dry-run makes no check"
ok wf start "$DEF" -p counter="$counter" --dry-run
assert_eq "$(lines "$counter")" 1 "runs of the check after --dry-run"

note "--start-from a stage that needs the check: checked again first"
ok wf start "$DEF" --run-id yes --start-from work
assert_eq "$(lines "$counter")" 2 "runs of the check after --start-from work"

note "a check that cannot tell: a note, and the run tries it again"
counter=$SCRATCH/unsure
ok wf start "$DEF" -p counter="$counter" -p verdict=1 --run-id maybe
assert_contains "$ERR" 'wf: note: stage "check" could not be checked before the run'
assert_eq "$(lines "$counter")" 2 "runs of the check (before the run, then in it)"
run_json maybe
assert_json "$SCRATCH/run.json" '.status == "succeeded"'

echo "t_validate: ok"
