# crash_kill.sh <wf> <tests-dir> <kills> [--window N] [--max-sleep S] [--check-store]
#
# kill -9 torture: run the 200-step fan-out workflow crash200 and kill -9 its wf process
# (and the process groups of its steps, as a machine crash would) after a random
# 0.05..max-sleep seconds, then `wf resume` it, <kills> times; a run that completes is
# checked and the next one starts. After each kill it snapshots which steps are recorded
# succeeded and how many lines the steps' side file has. It checks that:
#   - every run ends `succeeded`, and every key 0..199 was executed at least once;
#   - no step was executed again after a snapshot in which it was recorded succeeded;
#   - re-executions in total are at most kills x 2 x window: a kill loses the steps in
#     flight (at most window) and those finished but not yet group-committed (a freed slot
#     starts the next step before the commit, so these are bounded by about a window more);
#   - the store opens after every kill (`wf list-runs`); with --check-store also that every
#     LMDB database dumps cleanly and a new run can be written.
# Prints "crash: kills=K dups=D runs=N".
CRASH_DIR=$(cd "$(dirname "$0")" && pwd)
source "$CRASH_DIR/../integration/lib.sh" "$1" "$2"
source "$CRASH_DIR/lib.sh"

KILLS=${3:?usage: crash_kill.sh <wf> <tests-dir> <kills> [--window N] [--max-sleep S] [--check-store]}
shift 3
WINDOW=8
MAX_SLEEP=0.6
CHECK_STORE=0
while (($#)); do
  case $1 in
    --window) WINDOW=$2; shift 2 ;;
    --max-sleep) MAX_SLEEP=$2; shift 2 ;;
    --check-store) CHECK_STORE=1; shift ;;
    *) fail "unknown option $1" ;;
  esac
done

DEF=$DEFS/crash200.json
NKEYS=200

# `wf resume` takes --window when it documents it; otherwise the run keeps its own.
resume_args=()
if "$WF" resume --help 2>/dev/null | grep -q -- '--window'; then resume_args=(--window "$WINDOW"); fi

# verify_run ID LOG SNAPS: the checks above for one run; adds its re-executions to $dups.
verify_run() {
  local id=$1 log=$2 snaps=$3 json n missing
  json=$("$WF" show-run "$id" -o json) || fail "show-run $id"
  [[ $(jq -r .status <<<"$json") == succeeded ]] || fail "run $id is $(jq -r .status <<<"$json")"
  n=$(jq '[.steps[] | select((.key | startswith("work/")) and .status == "succeeded")] | length' <<<"$json")
  assert_eq "$n" "$NKEYS" "succeeded work steps of $id"
  assert_eq "$(jq -r '.steps[] | select(.key == "done") | .status' <<<"$json")" succeeded "done step of $id"
  missing=$(awk -v n="$NKEYS" '{ seen[$1] = 1 } END { for (i = 0; i < n; i++) if (!(i in seen)) c++; print c + 0 }' "$log")
  assert_eq "$missing" 0 "keys of $id never executed"
  check_not_rerun "run $id" "$log" "$snaps"
  dups=$((dups + $(lines "$log") - NKEYS))
}

# check_store: the store is readable after a crash.
check_store() {
  expect_exit 0 wf list-runs -o json
  jq -e 'type == "array"' "$OUT" >/dev/null || fail "list-runs -o json after kill $kills is not an array"
  ((CHECK_STORE)) || return 0
  if command -v mdb_dump >/dev/null; then
    mdb_dump -a "$WF_HOME/store" >/dev/null 2>"$SCRATCH/mdb.err" ||
      { cat "$SCRATCH/mdb.err" >&2; fail "mdb_dump of the store fails after kill $kills"; }
  fi
  probes=$((probes + 1))
  expect_exit 0 wf start "$DEFS/three.json" -p log="$SCRATCH/three.log" --run-id "probe-$probes"
}

kills=0
dups=0
probes=0
run_no=1
state=new          # new: start it; begun: resume it
id=crash-$run_no
log=$SCRATCH/exec-$run_no.log
snaps=$SCRATCH/snaps-$run_no
: >"$log"
: >"$snaps"

next_run() {
  run_no=$((run_no + 1))
  id=crash-$run_no
  log=$SCRATCH/exec-$run_no.log
  snaps=$SCRATCH/snaps-$run_no
  : >"$log"
  : >"$snaps"
  state=new
}

while ((kills < KILLS)); do
  if [[ $state == new ]]; then
    start_bg "$SCRATCH/wf.out" start "$DEF" --run-id "$id" -p log="$log" --window "$WINDOW"
  else
    start_bg "$SCRATCH/wf.out" resume "$id" "${resume_args[@]}"
  fi
  pid=$BG
  sleep "$(rand_sleep "$MAX_SLEEP")"
  if pid_alive "$pid"; then
    crash "$pid"
    kills=$((kills + 1))
    rc=killed
  else
    rc=0
    wait "$pid" || rc=$?
  fi
  BG_PIDS=()

  check_store
  rcs=0
  "$WF" show-run "$id" -o json >"$SCRATCH/snap.json" 2>"$SCRATCH/snap.err" || rcs=$?
  if ((rcs == 3)); then
    # Killed before the run was recorded: start it again.
    [[ $rc == killed ]] || { cat "$SCRATCH/wf.out" >&2; fail "run $id not found after wf exited $rc"; }
    state=new
    continue
  fi
  ((rcs == 0)) || { cat "$SCRATCH/snap.err" >&2; fail "show-run $id exited $rcs after kill $kills"; }
  state=begun
  snapshot "$SCRATCH/snap.json" "$log" "$snaps" work/
  status=$(jq -r .status "$SCRATCH/snap.json")
  case $status in
    succeeded)
      [[ $rc == killed || $rc == 0 ]] || { cat "$SCRATCH/wf.out" >&2; fail "wf exited $rc but run $id succeeded"; }
      verify_run "$id" "$log" "$snaps"
      next_run
      ;;
    interrupted | pending)
      [[ $rc == killed ]] || { cat "$SCRATCH/wf.out" >&2; fail "wf exited $rc leaving run $id $status"; }
      ;;
    *)
      cat "$SCRATCH/wf.out" >&2
      fail "run $id is '$status' after kill $kills (wf: $rc)"
      ;;
  esac
done

# Finish the run in progress.
if [[ $state == begun ]]; then
  CMD_TIMEOUT=300 expect_exit 0 wf resume "$id"
  verify_run "$id" "$log" "$snaps"
  runs=$run_no
else
  runs=$((run_no - 1))
fi

echo "crash: kills=$kills dups=$dups runs=$runs window=$WINDOW" \
  "($(awk -v d="$dups" -v k="$kills" 'BEGIN { printf "%.1f", k ? d / k : 0 }') per kill)"
((dups <= kills * 2 * WINDOW)) ||
  fail "$dups re-executions for $kills kills exceed kills x 2 x window ($((kills * 2 * WINDOW)))"
