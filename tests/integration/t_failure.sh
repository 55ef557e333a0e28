# A failing step fails the run (exit 1); with --continue-on-error a failing fan-out item
# leaves the run degraded (exit 4).
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log

# ---- exit 1: stage "bad" runs false ----
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id f1
assert_contains "$OUT" "run f1 started (workflow fail)"
grep -Eq '^stage first succeeded in [0-9.]+s \(1 step\)$' "$OUT" || { show_captured; fail "no progress line for stage first"; }
grep -q '^stage bad failed' "$OUT" || { show_captured; fail "no 'stage bad failed' line"; }
assert_contains "$OUT" "exited with code 1"
grep -Eq '^run f1 failed in [0-9.]+s$' "$OUT" || { show_captured; fail "no line 'run f1 failed in <secs>s'"; }
assert_eq "$(cat "$log")" "first" "stages executed (after must not run)"

run_json f1
j=$SCRATCH/run.json
assert_json "$j" '.status == "failed"'
assert_json "$j" '.error != null and (.error | length) > 0'
assert_json "$j" '.finished_at != null'
assert_json "$j" '.steps[] | select(.key == "bad") | .status == "failed" and .exit_code == 1 and .error != null'
assert_json "$j" '.steps[] | select(.key == "first") | .status == "succeeded" and .exit_code == 0'
assert_json "$j" '[.steps[] | select(.key == "after") | .status] | all(. != "succeeded" and . != "running")'
assert_json "$j" '.counts.failed == 1 and .counts.succeeded == 1 and .counts.running == 0'
ok wf list-runs -o ids --status failed
assert_eq "$(cat "$OUT")" "f1" "list-runs --status failed"

# -o json on a failed start: the run object on stdout, still exit 1.
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" -o json
assert_json "$OUT" '.status == "failed"'

# Resuming a failed run either retries what failed (and fails again) or is refused; either
# way the recorded "first" is not executed again.
: >"$log"
expect_nonzero wf resume f1
[[ $RC == 1 || $RC == 2 ]] || { show_captured; fail "wf resume of a failed run exited $RC, not 1 or 2"; }
assert_eq "$(cat "$log")" "" "stages re-executed by resume of a failed run"

# ---- exit 1 without --continue-on-error on a failing fan-out item ----
expect_exit 1 wf start "$DEFS/fanfail.json" --run-id ff1
run_json ff1
assert_json "$SCRATCH/run.json" '.status == "failed"'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "work/3") | .status == "failed"'

# ---- exit 4: the same with --continue-on-error ----
expect_exit 4 wf start "$DEFS/fanfail.json" --run-id ff2 --continue-on-error
run_json ff2
j=$SCRATCH/run.json
assert_json "$j" '.status == "degraded"'
assert_json "$j" '.counts.failed == 1'
assert_json "$j" '[.steps[] | select(.stage == "work" and .status == "succeeded") | .key] | sort == ["work/1","work/2","work/4"]'
assert_json "$j" '.steps[] | select(.key == "work/3") | .status == "failed" and .exit_code == 1'
ok wf list-runs -o ids --status degraded
assert_eq "$(cat "$OUT")" "ff2" "list-runs --status degraded"

# Exit codes of other commands do not depend on the run's outcome.
ok wf show-run f1
ok wf show-run ff2

note "failure exit codes ok"
