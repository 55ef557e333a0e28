# Under --continue-on-error a stage that needs a failed stage does not run: it is
# upstream_failed (in show-run, its JSON and the history), so are the stages after it, and
# the run ends degraded. A fan-out with some failed items counts as failed: `sum` never
# adds up 4 of 5 items. Without --continue-on-error the run stops at the failure.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
flag=$SCRATCH/flag
touch "$flag"

note "--continue-on-error: sum and report do not run, other does"
expect_exit 4 wf start "$DEFS/partial.json" -p log="$log" -p flag="$flag" --run-id u1 --continue-on-error
assert_not_contains "$log" sum
assert_not_contains "$log" report
assert_contains "$log" other
assert_contains "$OUT" "stage sum not run (upstream_failed): needs stage work, which failed: 1 of its 5 steps failed"
assert_contains "$OUT" "stage report not run (upstream_failed): needs stage sum, which did not run"
grep -q '^run u1 degraded in' "$OUT" || { show_captured; fail "no 'run u1 degraded' line"; }

run_json u1 --history
j=$SCRATCH/run.json
assert_json "$j" '.status == "degraded"'
assert_json "$j" '.steps[] | select(.key == "sum") | .status == "upstream_failed" and .attempt == 0
  and (.error | contains("needs stage work, which failed"))'
assert_json "$j" '.steps[] | select(.key == "report") | .status == "upstream_failed"'
assert_json "$j" '.steps[] | select(.key == "other") | .status == "succeeded"'
assert_json "$j" '.counts.upstream_failed == 2 and .counts.failed == 1'
assert_json "$j" '[.events[] | select(.type == "step_upstream_failed") | .step] == ["sum", "report"]'
ok wf show-run u1
grep -Eq '^sum +upstream_failed +0 ' "$OUT" || { show_captured; fail "no upstream_failed row for sum"; }

note "resumed once the item succeeds: everything runs, nothing is left upstream_failed"
rm -f "$flag"
: >"$log"
ok wf resume u1
assert_eq "$(sort "$log" | tr '\n' ' ')" "report sum " "stages run by the resume"
run_json u1
assert_json "$SCRATCH/run.json" '.status == "succeeded" and .counts.upstream_failed == 0'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "sum") | .status == "succeeded" and .output == 15'

note "without --continue-on-error the run stops at the failure: nothing after it is recorded"
touch "$flag"
: >"$log"
expect_exit 1 wf start "$DEFS/partial.json" -p log="$log" -p flag="$flag" --run-id u2
assert_not_contains "$log" sum
run_json u2
assert_json "$SCRATCH/run.json" '.status == "failed" and .counts.upstream_failed == 0'
assert_json "$SCRATCH/run.json" '[.steps[] | select(.key == "sum" or .key == "report")] == []'

note "a fan-out whose items cannot be read: the stages after it are upstream_failed too"
expect_exit 4 wf start "$DEFS/keys.json" -p log="$log" -p items=dup --run-id u3 --continue-on-error
run_json u3
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "after") | .status == "upstream_failed"
  and (.error | contains("needs stage work, which failed (stage \"work\": item 2"))'

note "upstream_failed ok"
