# Fail fast: without --continue-on-error, once a step has failed for good the run stops at
# once: no new step starts, and steps in flight are killed (their process groups too) and
# recorded canceled, saying why, instead of being waited for (a timeout can be long).
# With --continue-on-error everything else goes on with its full retries.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
F=$DEFS/failfast.json

note "without --continue-on-error: slow is killed when bad fails for good"
t0=$(now)
expect_exit 1 wf start "$F" -p log="$log" --run-id ff1
took=$(elapsed "$t0")
less_than "$took" 1.9 || fail "the run took ${took}s: it waited for slow (timeout 2s) after bad failed"
assert_eq "$(grep -c '^bad' "$log")" 2 "attempts of bad"
assert_eq "$(grep -c '^slow' "$log")" 1 "attempts of slow"
slow_pid=$(awk '/^slow/ { print $2 }' "$log")
wait_for 3 eval "! group_alive $slow_pid"
assert_contains "$ERR" "step bad failed"
run_json ff1 --history
j=$SCRATCH/run.json
assert_json "$j" '.status == "failed"'
assert_json "$j" '.steps[] | select(.key == "bad") | .status == "failed" and .attempt == 2'
assert_json "$j" '.steps[] | select(.key == "slow") | .status == "canceled" and .attempt == 1
  and (.error | startswith("killed as the run stopped: step bad failed"))'
assert_json "$j" '[.events[] | select(.step == "slow") | .type] == ["step_started", "step_canceled"]'
assert_json "$j" '.events[] | select(.type == "step_canceled") | .detail | contains("step bad failed")'
assert_json "$j" '[.steps[] | select(.key == "after")] == []'

note "the canceled step runs again on resume (attempt 2)"
: >"$log"
expect_exit 1 wf resume ff1
assert_eq "$(grep -c '^slow' "$log")" 1 "attempts of slow on resume (killed again when bad fails)"
step_field ff1 slow attempt | grep -qx 2 || fail "slow's attempt after the resume: $(step_field ff1 slow attempt)"

note "with --continue-on-error: slow's timeout is retried, after runs not"
: >"$log"
expect_exit 4 wf start "$F" -p log="$log" --run-id ff2 --continue-on-error
assert_eq "$(grep -c '^slow' "$log")" 2 "attempts of slow under --continue-on-error"
run_json ff2 --history
j=$SCRATCH/run.json
assert_json "$j" '.status == "degraded"'
assert_json "$j" '[.events[] | select(.step == "slow") | .type] == ["step_started", "step_timed_out",
  "step_retry", "step_started", "step_timed_out"]'
assert_json "$j" '.steps[] | select(.key == "after") | .status == "upstream_failed"'

note "fail fast ok"
