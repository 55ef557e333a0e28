# timeout_s kills the step's whole process group, SIGTERM then SIGKILL, and fails it with
# "timed out".
source "$(dirname "$0")/lib.sh" "$@"

pidfile=$SCRATCH/bgpid
t0=$(now)
expect_exit 1 wf start "$DEFS/timeout.json" -p pidfile="$pidfile" --run-id t1
took=$(elapsed "$t0")
less_than "$took" 10 || fail "a step with timeout_s 1 kept the run going for ${took}s"
less_than 0.9 "$took" || fail "the run ended after ${took}s, before the 1 s timeout"
grep -q "slow.*timed out" "$OUT" || { show_captured; fail "progress does not say the step timed out"; }

run_json t1
j=$SCRATCH/run.json
assert_json "$j" '.status == "failed"'
assert_json "$j" '.steps[] | select(.key == "slow") | .status == "failed" and (.error | test("timed out"))'

[[ -s $pidfile ]] || fail "the step did not record its background child"
bg=$(cat "$pidfile")
# The background sleep was in the step's process group: it must be gone.
for _ in 1 2 3 4 5 6 7 8 9 10; do pid_alive "$bg" || break; sleep 0.1; done
if pid_alive "$bg"; then
  kill -9 "$bg" 2>/dev/null || true
  fail "the timed-out step's background child $bg is still running"
fi

note "timeout ok in ${took}s"
