# Retries with backoff: attempts are recorded, backoff is waited, limits are honoured,
# non-retryable exit codes are not retried.
source "$(dirname "$0")/lib.sh" "$@"

# Fails twice, succeeds on attempt 3 of 3.
counter=$SCRATCH/counter
ok wf start "$DEFS/retry.json" -p counter="$counter" --run-id r3
assert_eq "$(cat "$counter")" 3 "attempts made"
run_json r3 --history
j=$SCRATCH/run.json
assert_json "$j" '.status == "succeeded"'
assert_json "$j" '.steps[] | select(.key == "flaky") | .status == "succeeded" and .attempt == 3 and .output == 3'
assert_json "$j" '[.events[] | select(.step == "flaky") | .attempt] | unique == [1,2,3]'
ok wf show-run r3
assert_contains "$OUT" "3"

# Backoff: 0.2 s before attempt 2, 0.4 s before attempt 3 (a little slack for timers).
gaps=$(awk '{ t[$2] = $3 } END { printf "%.3f %.3f", t[2] - t[1], t[3] - t[2] }' "$counter.times")
read -r g1 g2 <<<"$gaps"
less_than 0.15 "$g1" || fail "attempt 2 came ${g1}s after attempt 1 (initial_interval_s 0.2)"
less_than 0.35 "$g2" || fail "attempt 3 came ${g2}s after attempt 2 (backoff 2)"
less_than "$g2" 5 || fail "attempt 3 came ${g2}s after attempt 2 (far too late)"

# Fails every time: gives up after max_attempts, run failed.
counter=$SCRATCH/counter5
expect_exit 1 wf start "$DEFS/retry.json" -p counter="$counter" -p fails=5 --run-id r5
assert_eq "$(cat "$counter")" 3 "attempts made with max_attempts 3"
run_json r5
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "flaky") | .status == "failed" and .attempt == 3 and .exit_code == 1'
# The step's stderr tail explains the failure somewhere a user looks.
ok wf logs r5
assert_contains "$OUT" "failing attempt"

# Exit code 7 is not retryable: one attempt only.
counter=$SCRATCH/counter7
expect_exit 1 wf start "$DEFS/nonretry.json" -p counter="$counter" --run-id n7
assert_eq "$(lines "$counter")" 1 "attempts made for a non-retryable exit code"
run_json n7
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "seven") | .status == "failed" and .exit_code == 7 and .attempt == 1'

note "retries ok"
