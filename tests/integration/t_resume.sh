# An interrupted run (its owner was killed) is resumed by exactly one of two concurrent
# `wf resume`; the other is refused while the winner lives.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate
touch "$gate"

start_bg "$SCRATCH/first.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id X
first=$BG
wait_for 20 has_lines "$log" 4
crash "$first"
wait_status X interrupted 5
ok wf list-runs -o ids --status interrupted
assert_eq "$(cat "$OUT")" "X" "list-runs --status interrupted"

# Two resumes at once.
: >"$log"
start_bg "$SCRATCH/r1.out" resume X
r1=$BG
start_bg "$SCRATCH/r2.out" resume X
r2=$BG
# One of them must give up quickly while the other waits at the gate.
for ((i = 0; i < 200; i++)); do
  pid_alive "$r1" && pid_alive "$r2" || break
  sleep 0.05
done
if pid_alive "$r1" && pid_alive "$r2"; then fail "both resumes are still running after 10s"; fi
if pid_alive "$r1"; then winner=$r1 loser=$r2 lout=$SCRATCH/r2.out; else winner=$r2 loser=$r1 lout=$SCRATCH/r1.out; fi
wait_exit "$loser" 1
((RC != 0)) || { cat "$lout" >&2; fail "the losing resume exited 0"; }
grep -q "owned by pid $winner" "$lout" || { cat "$lout" >&2; fail "the losing resume does not say 'owned by pid $winner'"; }

# The winner owns the run, and a third resume is refused as well.
wait_for 20 has_lines "$log" 4
expect_nonzero wf resume X
assert_contains "$ERR" "owned by pid $winner"
assert_eq "$(wf show-run X -o json | jq -r .owner.pid)" "$winner" "owner pid"

rm -f "$gate"
wait_exit "$winner" 30
assert_eq "$RC" 0 "exit code of the winning resume"
assert_eq "$(run_status X)" succeeded "status after resume"
# Exactly one process executed the steps: every step line names the winner as parent.
assert_eq "$(awk 'NF == 3 { print $3 }' "$log" | sort -u)" "$winner" "parent of the executed steps"
assert_eq "$(awk 'NF == 3 { print $1 }' "$log" | sort | tr '\n' ' ')" "0 1 2 3 " "steps executed by the resumes"
assert_eq "$(grep -c '^done$' "$log")" 1 "done executed"

# Resuming a succeeded run is refused without executing anything.
: >"$log"
expect_nonzero wf resume X
assert_eq "$(lines "$log")" 0 "steps executed by resuming a finished run"

# ---- half done: recorded steps are not executed again ----
# Items 0 and 1 finish at once, items 2 and 3 wait at the gate.
: >"$log"
touch "$gate"
start_bg "$SCRATCH/h.out" start "$DEFS/half.json" -p log="$log" -p gate="$gate" --run-id H
h=$BG
wait_for 20 has_lines "$log" 4
wait_for 20 eval '[[ $(step_field H work/0 status) == succeeded && $(step_field H work/1 status) == succeeded ]]'
crash "$h"
wait_status H interrupted 5
done_before=$(wf show-run H -o json | jq -r '[.steps[] | select(.status == "succeeded" and .stage == "work") | .key] | join(" ")')
[[ " $done_before " == *" work/0 "* && " $done_before " == *" work/1 "* ]] || fail "work/0 and work/1 not recorded before the crash: $done_before"
before=$(lines "$log")
rm -f "$gate"
ok wf resume H
for k in $done_before; do
  item=${k#work/}
  if tail -n +"$((before + 1))" "$log" | awk -v i="$item" 'NF == 3 && $1 == i { f = 1 } END { exit !f }'; then
    fail "step $k was recorded succeeded but executed again on resume"
  fi
done
assert_eq "$(awk 'NF == 3 { print $1 }' "$log" | sort -u | tr '\n' ' ')" "0 1 2 3 " "items executed overall"
assert_eq "$(run_status H)" succeeded "status of H after resume"

note "resume ok: winner $winner, loser $loser"
