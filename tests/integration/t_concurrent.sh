# Concurrent takeovers of interrupted runs.
#
#  - Two, then three, `wf resume ID` of the same run (interrupted by kill -9) started at
#    once: exactly one executes it; each of the others exits non-zero naming the winner
#    ("owned by pid N"); after the interruption every unrecorded step runs exactly once,
#    and only under the winner.
#  - Two, then three, `wf resume --all` started at once over three interrupted runs: each
#    run is executed by exactly one of them, every step of it once, and all end succeeded.
#
# The workflow (data/hostile/contended.json) has six fan-out steps: 0 and 1 finish at once,
# 2-5 wait while a gate file exists, so the winners hold their runs until the test opens
# the gate. Each step appends "<run> <item> <pid of the wf executing it>" to a side file.
source "$(dirname "$0")/lib.sh" "$@"

DEF=$TESTS/data/hostile/contended.json
log=$SCRATCH/side.log
gate=$SCRATCH/gate
: >"$log"

# run_lines RUN: the side file's lines of RUN.
run_lines() { awk -v r="$1" '$1 == r' "$log"; }

# interrupt RUN: start RUN with the gate closed, wait until items 0 and 1 are recorded and
# 2-5 are running, then crash its process (kill -9, its steps' groups too).
interrupt() {
  local id=$1 pid
  touch "$gate"
  start_bg "$SCRATCH/$id.start.out" start "$DEF" --run-id "$id" -p log="$log" -p gate="$gate"
  pid=$BG
  wait_for 20 eval '(($(run_lines '"$id"' | wc -l) >= 6))'
  wait_for 20 eval '[[ $(step_field '"$id"' work/0 status) == succeeded && $(step_field '"$id"' work/1 status) == succeeded ]]'
  crash "$pid"
  wait_status "$id" interrupted 5
  # Nothing after the crash may have executed anything, and the dead owner's steps are gone.
  [[ $(step_field "$id" "done" status) != succeeded ]] || fail "run $id finished before the crash"
}

# executed_once RUN PIDS...: since the side file was cleared, RUN executed items 2-5 and
# done exactly once each, all under one process, which must be one of PIDS; prints it.
executed_once() {
  local id=$1 got owners
  shift
  got=$(run_lines "$id" | awk '{ print $2 }' | sort | tr '\n' ' ')
  assert_eq "$got" "2 3 4 5 done " "steps of $id executed after the interruption"
  owners=$(run_lines "$id" | awk '{ print $3 }' | sort -u)
  [[ $(wc -w <<<"$owners") == 1 ]] || fail "run $id was executed by several processes: $(echo $owners)"
  [[ " $* " == *" $owners "* ]] || fail "run $id was executed by pid $owners, not one of the resumes ($*)"
  echo "$owners"
}

# ---- N concurrent `wf resume ID` ---------------------------------------------------------
contend_one() {
  local n=$1 id=one-$1 i p alive winner=
  local -a pids=() outs=()
  interrupt "$id"
  : >"$log"
  for ((i = 0; i < n; i++)); do
    start_bg "$SCRATCH/$id.r$i.out" resume "$id"
    pids+=("$BG")
    outs+=("$SCRATCH/$id.r$i.out")
  done
  # All but one give up at once; the winner waits at the gate.
  for ((i = 0; i < 200; i++)); do
    alive=0
    for p in "${pids[@]}"; do pid_alive "$p" && alive=$((alive + 1)); done
    ((alive <= 1)) && break
    sleep 0.05
  done
  ((alive == 1)) || fail "$n concurrent resumes of $id: $alive still running after 10s (want 1)"
  for ((i = 0; i < n; i++)); do pid_alive "${pids[i]}" && winner=${pids[i]}; done
  # The winner owns the run and is the only one executing it.
  wait_for 10 eval '(($(run_lines '"$id"' | wc -l) >= 4))'
  assert_eq "$(wf show-run "$id" -o json | jq -r .owner.pid)" "$winner" "owner of $id"
  for ((i = 0; i < n; i++)); do
    p=${pids[i]}
    [[ $p == "$winner" ]] && continue
    wait_exit "$p" 5
    ((RC != 0)) || { cat "${outs[i]}" >&2; fail "a losing resume of $id exited 0"; }
    ((RC < 128)) || { cat "${outs[i]}" >&2; fail "a losing resume of $id died with $RC"; }
    grep -q "owned by pid $winner" "${outs[i]}" ||
      { cat "${outs[i]}" >&2; fail "a losing resume of $id does not say 'owned by pid $winner'"; }
  done
  rm -f "$gate"
  wait_exit "$winner" 30
  assert_eq "$RC" 0 "exit code of the winning resume of $id"
  assert_eq "$(run_status "$id")" succeeded "status of $id"
  executed_once "$id" "$winner" >/dev/null
  ok wf show-run "$id" -o json
  assert_json "$OUT" '[.steps[] | select((.key | startswith("work/")) and .status == "succeeded")] | length == 6'
  note "$n concurrent resumes of $id: pid $winner executed it, $((n - 1)) refused"
}

contend_one 2
contend_one 3

# ---- N concurrent `wf resume --all` over three interrupted runs ----------------------------
contend_all() {
  local n=$1 i p r owners
  local -a pids=() outs=() runs=("all$1-a" "all$1-b" "all$1-c")
  for r in "${runs[@]}"; do interrupt "$r"; done
  ok wf list-runs -o ids --status interrupted
  assert_eq "$(sort "$OUT" | tr '\n' ' ')" "${runs[*]} " "interrupted runs before resume --all"
  : >"$log"
  touch "$gate"
  for ((i = 0; i < n; i++)); do
    start_bg "$SCRATCH/all$n.r$i.out" resume --all
    pids+=("$BG")
    outs+=("$SCRATCH/all$n.r$i.out")
  done
  # While the gate is closed each process holds the first run it took: n runs get n
  # distinct owners (three processes take one run each), the rest stay interrupted.
  owned() {
    local r o c=0
    owners=
    for r in "${runs[@]}"; do
      o=$("$WF" show-run "$r" -o json 2>/dev/null | jq -r '.owner.pid // empty')
      [[ -n $o ]] && { owners+="$o "; c=$((c + 1)); }
    done
    ((c >= n))
  }
  wait_for 15 owned
  for p in $owners; do
    [[ " ${pids[*]} " == *" $p "* ]] || fail "a run is owned by pid $p, not one of the resumes (${pids[*]})"
  done
  assert_eq "$(tr ' ' '\n' <<<"$owners" | sed '/^$/d' | sort -u | wc -l)" "$n" \
    "distinct owners while $n resume --all hold their first run (owners: $owners)"
  rm -f "$gate"
  for ((i = 0; i < n; i++)); do
    wait_exit "${pids[i]}" 40
    # A run another process took over between this one's scan and its claim is no longer
    # interrupted: skipping it is not a failure of `resume --all`.
    # (Checked after everything else, so that a failure here does not hide the others.)
    if ((RC != 0)); then
      LATE+=("$n concurrent resume --all: pid ${pids[i]} exited $RC: $(grep -m1 '^wf:' "${outs[i]}" || tail -n 1 "${outs[i]}")")
    fi
  done
  local used=
  for r in "${runs[@]}"; do
    assert_eq "$(run_status "$r")" succeeded "status of $r after $n concurrent resume --all"
    used+="$(executed_once "$r" "${pids[@]}") "
  done
  note "$n concurrent resume --all: runs executed by pids $used"
}

LATE=()
contend_all 2
contend_all 3

# Nothing is left interrupted, and no step ran again afterwards.
ok wf list-runs -o ids --status interrupted
assert_eq "$(cat "$OUT")" "" "interrupted runs left"
before=$(lines "$log")
sleep 0.5
assert_eq "$(lines "$log")" "$before" "side file lines after everything finished"
if ((${#LATE[@]})); then
  printf '%s\n' "${LATE[@]}" >&2
  fail "every run was executed once, but ${#LATE[@]} resume --all processes exited non-zero (above)"
fi
note "concurrent takeovers ok"
