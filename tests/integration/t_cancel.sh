# cancel-run from another process: the owner stops within about a second, in-flight steps
# are recorded canceled and their process groups are gone; a canceled run is resumed only
# when asked by id.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate
touch "$gate"

start_bg "$SCRATCH/owner.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id c1
owner=$BG
wait_for 20 has_lines "$log" 4
run_json c1
j=$SCRATCH/run.json
assert_json "$j" '.status == "running"'
assert_json "$j" ".owner.pid == $owner and (.owner.host | type) == \"string\""
step_pids=$(awk '{ print $2 }' "$log")
for p in $step_pids; do pid_alive "$p" || fail "step process $p is not running before the cancel"; done

# Another process may not take the run over while its owner lives.
expect_nonzero wf resume c1
assert_contains "$ERR" "owned by pid $owner"

t0=$(now)
ok wf cancel-run c1
wait_exit "$owner" 5
took=$(elapsed "$t0")
assert_eq "$RC" 1 "exit code of the canceled owner"
less_than "$took" 3 || fail "the owner took ${took}s to stop after cancel-run"
assert_contains "$SCRATCH/owner.out" "run c1 canceled"

run_json c1
assert_json "$j" '.status == "canceled"'
assert_json "$j" '.finished_at != null'
assert_json "$j" '[.steps[] | select(.key | startswith("work/")) | .status] | length == 4 and all(. == "canceled")'
assert_json "$j" '.counts.canceled == 4 and .counts.running == 0'
assert_json "$j" '[.steps[] | select(.key == "done") | .status] | all(. != "succeeded")'
for p in $step_pids; do
  wait_for 3 eval "! group_alive $p"
done
assert_not_contains "$log" "done"

# Cancel again: the run has finished.
expect_exit 2 wf cancel-run c1
assert_contains "$ERR" "c1"

# resume --all does not pick up a canceled run; resume by id does.
rm -f "$gate"
: >"$log"
ok wf resume --all
assert_eq "$(run_status c1)" canceled "status after resume --all"
assert_eq "$(lines "$log")" 0 "steps run by resume --all"
ok wf resume c1
assert_eq "$(run_status c1)" succeeded "status after resume c1"
assert_eq "$(sort "$log" | awk '{ print $1 }' | tr '\n' ' ')" "0 1 2 3 done " "steps run by resume c1"

# ---- the same with --detach ----
touch "$gate"
: >"$log"
# Through a pipe, as in id=$(wf start --detach): the background process must not keep
# the pipe open, or the caller would wait for the whole run.
t0=$(now)
rc=0
got=$(timeout 20 "$WF" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id c2 \
  --detach </dev/null 2>"$ERR") || rc=$?
assert_eq "$rc" 0 "exit code of start --detach"
assert_eq "$got" "c2" "stdout of start --detach"
less_than "$(elapsed "$t0")" 5 || fail "start --detach held its stdout open until the run ended"
wait_for 20 has_lines "$log" 4
assert_eq "$(run_status c2)" running "status of the detached run"
owner=$(wf show-run c2 -o json | jq -r .owner.pid)
[[ $owner =~ ^[0-9]+$ ]] || fail "no owner pid for the detached run"
ok wf cancel-run c2
wait_status c2 canceled 3
wait_for 3 eval "! pid_alive $owner"
for p in $(awk '{ print $2 }' "$log"); do wait_for 3 eval "! group_alive $p"; done
rm -f "$gate"

note "cancel ok (owner stopped in ${took}s)"
