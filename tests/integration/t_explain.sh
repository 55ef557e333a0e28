# wf explain RUN STEP says, from the run's history, why a step ran again or was reused:
# it failed before, it was in flight at a crash, it was killed by Ctrl-C, it was canceled
# when another step failed, its stage had not run (upstream_failed), a later generation,
# its input changed, or it was recorded and reused.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate

# why RUN STEP CODE: wf explain -o json RUN STEP says CODE as its "why".
why() {
  ok wf explain "$1" "$2" -o json
  cp "$OUT" "$SCRATCH/explain.json"
  assert_eq "$(json_get "$SCRATCH/explain.json" .why)" "$3" "why $2 of run $1"
}

note "failed before, and recorded and reused"
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id f
expect_exit 1 wf resume f
why f bad failed_before
assert_json "$SCRATCH/explain.json" '.status == "failed" and .attempt == 2
  and (.executions | length) == 2 and .executions[0].why == "first_run"
  and .executions[1].type == "run_resumed" and .executions[1].why == "failed_before"
  and (.executions[1].reason | contains("attempt 1 failed: exited with code 1"))
  and .executions[1].outcome == "attempt 2 failed: exited with code 1"
  and ([.executions[1].events[].type] == ["step_started", "step_failed"])'
why f first reused
assert_json "$SCRATCH/explain.json" '.executions[1].ran == false
  and (.reason | startswith("recorded and reused: attempt 1 succeeded in execution 1"))'
ok wf explain f bad
assert_contains "$OUT" "step bad of run f: failed (attempt 2, generation 0)"
assert_contains "$OUT" "why: execution 2 ran it: it failed before (attempt 1 failed: exited with code 1)"
grep -q '^execution 2  .*  resumed by pid' "$OUT" || { show_captured; fail "no execution 2 line"; }

note "in flight at a crash"
touch "$gate"
: >"$log"
start_bg "$SCRATCH/half.out" start "$DEFS/half.json" -p log="$log" -p gate="$gate" --run-id c
owner=$BG
wait_for 20 has_lines "$log" 4
# Items 0 and 1 are recorded, and with them the starts of 2 and 3.
wait_for 20 eval "wf show-run c --history -o json | jq -e '[.events[] | select(.type == \"step_started\" and .step == \"work/2\")] | length == 1' >/dev/null"
crash "$owner"
rm -f "$gate"
ok wf resume c
why c work/2 in_flight_at_crash
assert_json "$SCRATCH/explain.json" '.executions[0].outcome | contains("no end recorded (its owner died)")'
why c work/0 reused

note "interrupted by Ctrl-C"
touch "$gate"
: >"$log"
start_bg "$SCRATCH/gate.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id i
owner=$BG
wait_for 20 has_lines "$log" 4
kill -INT "$owner"
wait_exit "$owner" 5
rm -f "$gate"
ok wf resume i
why i work/1 interrupted
assert_json "$SCRATCH/explain.json" '.reason | contains("SIGINT")'

note "canceled when another step failed for good"
: >"$log"
expect_exit 1 wf start "$DEFS/failfast.json" -p log="$log" --run-id ff
expect_exit 1 wf resume ff
why ff slow canceled_before
assert_json "$SCRATCH/explain.json" '.reason | contains("step bad failed")'

note "not run before: upstream_failed"
flag=$SCRATCH/flag
touch "$flag"
expect_exit 4 wf start "$DEFS/partial.json" -p log="$log" -p flag="$flag" --run-id u --continue-on-error
ok wf explain u sum -o json
assert_json "$OUT" '.why == "not_run" and .status == "upstream_failed"
  and (.executions[0].outcome | startswith("not run (upstream_failed): needs stage work"))'
rm -f "$flag"
ok wf resume u
why u sum not_run_before
why u work/3 failed_before
why u work/1 reused

note "a later generation, and an input that changed"
: >"$log"
ok wf start "$DEFS/three.json" -p log="$log" --run-id g
ok wf start "$DEFS/three.json" -p log="$log" --run-id g --start-from b
why g b later_generation
assert_json "$SCRATCH/explain.json" '.generation == 1'
why g a reused
def=$SCRATCH/flow.json
# flow FIRST BAD: first marks FIRST in the log, then bad runs BAD.
flow() {
  cat >"$def" <<JSON
{ "name": "flow", "version": 1, "params": { "log": { "type": "string", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [ { "id": "first", "run": ["sh", "$DEFS/step.sh", "mark", "\${params.log}", "$1"] },
              { "id": "bad", "needs": ["first"], "run": ["$2"] } ] }
JSON
}
flow first false
expect_exit 1 wf start "$def" -p log="$log" --run-id n
flow first-v2 true
ok wf resume n --reload
why n first input_changed
assert_json "$SCRATCH/explain.json" '.executions[1].events[0].type == "step_input_changed"
  and .executions[1].outcome == "attempt 1 succeeded"'

note "usage"
expect_exit 3 wf explain n nope
assert_contains "$ERR" "run n has no step nope"
expect_exit 3 wf explain nope first
expect_exit 2 wf explain n
expect_exit 2 wf explain n first -o ids
ok wf explain --help
assert_contains "$OUT" "wf explain <run-id> <step-key>"

note "explain ok"
