# owner_lease.sh <wf> <tests-dir>: an owner on another kernel, frozen past its lease
# (what `docker pause` does to a container on another machine sharing the store), is taken
# over by a plain `wf resume` once its heartbeat is older than the lease (30 s); when it is
# thawed it finds itself fenced: it kills its steps, records nothing and exits 6. The run
# ends succeeded with one success event per step and no event sequence number reused; only
# the steps in flight at the freeze ran twice.
#
# "Another kernel" is a process that sees another boot id: /proc/sys/kernel/random/boot_id
# bind-mounted over in a mount namespace of its own (unshare -m, root). Where that is not
# permitted the test says SKIP and exits 77.
source "$(dirname "$0")/../integration/lib.sh" "$1" "$2"

if ! unshare -m true 2>/dev/null; then
  echo "SKIP: unshare -m is not permitted here"
  exit 77
fi

LOG=$SCRATCH/side.log
start_elsewhere far.out start "$DEFS/owned.json" --run-id far -p log="$LOG" -p n=12
far=$BG
wait_for 10 at_least "$LOG" 2
kill -STOP "$far"
t0=$(now)
frozen_starts=$(grep -c '^start' "$LOG")

note "while its heartbeat is fresh the frozen owner keeps the run"
expect_exit 1 wf resume far
assert_contains "$ERR" "another machine"

note "once the lease ran out, wf resume takes the run over"
taken=0
for ((i = 0; i < 500; i++)); do
  RC=0
  timeout -k 5 120 "$WF" resume far </dev/null >resume.out 2>resume.err || RC=$?
  if ((RC == 0)); then taken=1; break; fi
  assert_contains resume.err "another machine"
  sleep 0.5
done
((taken)) || fail "the run was never taken over from its frozen owner"
waited=$(elapsed "$t0")
less_than 25 "$waited" || fail "taken over after ${waited}s, before the 30 s lease could run out"
assert_contains resume.out "run far succeeded"

note "thawed, the old owner is fenced"
kill -CONT "$far"
wait_exit "$far" 20
assert_eq "$RC" 6 "exit code of the owner that lost its lease"
assert_contains far.out "was taken from this process by another process (the run is succeeded now)"
assert_contains far.out "recorded nothing more"
assert_eq "$(run_status far)" succeeded "status after the thaw"
run_json far --history
assert_json "$SCRATCH/run.json" '[.events[].seq] == [range(0; .events | length)]'
assert_json "$SCRATCH/run.json" \
  '[.events[] | select(.type == "step_succeeded") | .step] | group_by(.) | all(length == 1)'
assert_json "$SCRATCH/run.json" '.counts.succeeded == 13'
head -n "$frozen_starts" "$LOG" | awk '$1 == "start" { print $2 }' | sort >in_flight
for k in $(seq 0 11); do
  n=$(grep -c "^start $k " "$LOG" || true)
  if grep -qx "$k" in_flight; then ((n <= 2)) || fail "step $k started $n times"
  else ((n == 1)) || fail "step $k, not in flight at the freeze, started $n times"; fi
done
echo "owner-lease: taken over after ${waited}s frozen; the old owner exited 6"
