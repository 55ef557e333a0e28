# fault_points.sh <wf> <tests-dir> [deaths]: crashes at exact points of the commit path.
#
# Runs the 200-step fan-out workflow crash200 with WF_FAULT=after-put:N or after-commit:N
# (N random in 1..30): the wf process kills itself (SIGKILL) inside its N-th store write,
# after the transaction's writes and before the commit, or after the commit and before
# the engine acknowledges it. Then `wf resume` with another fault, <deaths> times in all
# (default 40); a run that completes is checked and the next one starts, and the last
# one is finished without faults. After each death it checks that the store opens
# (`wf list-runs`, `wf show-run -o json`), that the indexes agree with the runs (every run
# in exactly one runs_by_status and one runs_by_time entry, with its stored status and
# created_at, no entry for a missing run), that the run record's succeeded count is the
# number of succeeded steps show-run lists, and snapshots which steps are recorded
# succeeded with the length of the steps' side file. At the end of each run: it
# succeeded, every key 0..199 was executed, and no key was executed again after a
# snapshot in which it was recorded succeeded.
# Re-executions in total are at most deaths x 2 x window, as in crash_kill.sh.
# Prints "fault-points: deaths=D (after-put P, after-commit C) runs=R dups=X".
CRASH_DIR=$(cd "$(dirname "$0")" && pwd)
source "$CRASH_DIR/../integration/lib.sh" "$1" "$2"
source "$CRASH_DIR/lib.sh"

DEATHS=${3:-40}
DEF=$DEFS/crash200.json
NKEYS=200
WINDOW=8

# verify_run ID LOG SNAPS: the end-of-run checks; adds its re-executions to $dups.
verify_run() {
  local id=$1 log=$2 snaps=$3 n missing
  run_json "$id"
  WHEN="end of run $id"
  [[ $(jq -r .status "$SCRATCH/run.json") == succeeded ]] || fail "run $id is $(jq -r .status "$SCRATCH/run.json")"
  n=$(jq '[.steps[] | select((.key | startswith("work/")) and .status == "succeeded")] | length' "$SCRATCH/run.json")
  assert_eq "$n" "$NKEYS" "succeeded work steps of $id"
  check_indexes
  check_run "$SCRATCH/run.json" "$id"
  missing=$(awk -v n="$NKEYS" '{ seen[$1] = 1 } END { for (i = 0; i < n; i++) if (!(i in seen)) c++; print c + 0 }' "$log")
  assert_eq "$missing" 0 "keys of $id never executed"
  check_not_rerun "run $id" "$log" "$snaps"
  dups=$((dups + $(lines "$log") - NKEYS))
}

deaths=0
puts=0
commits=0
dups=0
run_no=0
next_run() {
  run_no=$((run_no + 1))
  id=fault-$run_no
  log=$SCRATCH/exec-$run_no.log
  snaps=$SCRATCH/snaps-$run_no
  : >"$log"
  : >"$snaps"
  state=new
}
next_run

while ((deaths < DEATHS)); do
  n=$((RANDOM % 30 + 1))
  if ((RANDOM % 2)); then point=after-put; else point=after-commit; fi
  if [[ $state == new ]]; then
    args=(start "$DEF" --run-id "$id" -p log="$log" --window "$WINDOW")
  else
    args=(resume "$id")
  fi
  rc=0
  # (The braces keep bash from reporting the death on stderr.)
  { WF_FAULT=$point:$n timeout -k 5 120 "$WF" "${args[@]}" </dev/null >"$SCRATCH/wf.out" 2>&1; } 2>/dev/null || rc=$?
  case $rc in
    137)
      deaths=$((deaths + 1))
      if [[ $point == after-put ]]; then puts=$((puts + 1)); else commits=$((commits + 1)); fi
      # The dead process's steps live on in their own process groups; each writes its line
      # first and lasts at most 50 ms: let them end before taking the snapshot.
      sleep 0.2
      ;;
    0) ;;
    *) cat "$SCRATCH/wf.out" >&2; fail "wf ${args[0]} with WF_FAULT=$point:$n exited $rc" ;;
  esac
  WHEN="after death $deaths ($point:$n)"

  expect_exit 0 wf list-runs -o json
  jq -e 'type == "array"' "$OUT" >/dev/null || fail "list-runs -o json after death $deaths is not an array"
  check_indexes
  rcs=0
  "$WF" show-run "$id" -o json >"$SCRATCH/snap.json" 2>"$SCRATCH/snap.err" </dev/null || rcs=$?
  if ((rcs == 3)) && [[ $state == new && $rc == 137 ]]; then
    continue  # died before the run was recorded: start it again
  fi
  ((rcs == 0)) || { cat "$SCRATCH/snap.err" >&2; fail "show-run $id exited $rcs after death $deaths ($point:$n)"; }
  state=begun
  check_run "$SCRATCH/snap.json" "$id"
  snapshot "$SCRATCH/snap.json" "$log" "$snaps" work/
  status=$(jq -r .status "$SCRATCH/snap.json")
  case $status in
    succeeded) verify_run "$id" "$log" "$snaps"; next_run ;;
    interrupted | pending)
      [[ $rc == 137 ]] || { cat "$SCRATCH/wf.out" >&2; fail "wf exited $rc leaving run $id $status"; } ;;
    *) cat "$SCRATCH/wf.out" >&2; fail "run $id is '$status' after death $deaths ($point:$n, wf: $rc)" ;;
  esac
done

runs=$((run_no - 1))
if [[ $state == begun ]]; then
  CMD_TIMEOUT=300 ok wf resume "$id"
  verify_run "$id" "$log" "$snaps"
  runs=$run_no
fi
echo "fault-points: deaths=$deaths (after-put $puts, after-commit $commits) runs=$runs dups=$dups"
# A death loses at most the steps in flight and those finished since the last commit.
((dups <= deaths * 2 * WINDOW)) ||
  fail "$dups re-executions for $deaths deaths exceed deaths x 2 x window ($((deaths * 2 * WINDOW)))"
