# power_loss.sh <wf> <tests-dir> [kills] [resumes]: the store as a power cut leaves it.
#
# Like crash_kill.sh (a 200-step fan-out killed after a random 0.05..0.5 s, then resumed,
# <kills> times, default 30), but at each kill moment the wf process is frozen (SIGSTOP),
# its steps' process groups killed, and the files as they are at that instant copied:
# store/data.mdb, store/lock.mdb (with whatever reader slots and write lock the frozen
# process holds) and the steps' side file, into a home of their own; then the process is
# killed. Every copy must open: `wf --home COPY list-runs` and `wf --home COPY show-run R`
# exit 0 and report the same step statuses as the original store after the kill. For
# <resumes> of the copies (default 8, spread over the kills) `wf --home COPY resume R`
# must finish the run: it succeeds, every key 0..199 was executed (in the copy's side
# file), and no step recorded succeeded in the copy was executed again. The original run
# is resumed after each kill and checked the same way when it completes.
# The steps write their side file in $WF_RUN_DIR, so a copy's resume writes its own.
# Prints "power-loss: kills=K copies-resumed=C runs=R".
CRASH_DIR=$(cd "$(dirname "$0")" && pwd)
source "$CRASH_DIR/../integration/lib.sh" "$1" "$2"
source "$CRASH_DIR/lib.sh"

KILLS=${3:-30}
RESUMES=${4:-8}
MAX_SLEEP=0.5
NKEYS=200
WINDOW=8

DEF=$SCRATCH/power200.json
cat >"$DEF" <<'EOF'
{
  "name": "power200",
  "version": 1,
  "description": "200 fan-out steps of 20-50 ms, each appending '<key> <pid>' to exec.log in the run's folder",
  "defaults": { "retry": { "max_attempts": 3, "initial_interval_s": 0.1, "backoff": 2 }, "timeout_s": 60 },
  "stages": [
    { "id": "list", "run": ["awk", "BEGIN { printf \"[\"; for (i = 0; i < 200; i++) printf \"%s%d\", (i ? \",\" : \"\"), i; print \"]\" }"] },
    { "id": "work", "needs": ["list"], "foreach": "${stages.list.output}", "key": "${item}",
      "run": ["sh", "-c", "echo \"$1 $$\" >> \"$WF_RUN_DIR/exec.log\"; sleep 0.0$(($1 % 4 + 2)); echo \"$1\"", "sh", "${item}"] },
    { "id": "done", "needs": ["work"], "run": ["echo", "\"done\""] }
  ]
}
EOF

# step_states JSON-FILE: "key status" of every step, sorted, to compare two stores.
step_states() { jq -r '.steps[] | "\(.key) \(.status)"' "$1" | sort; }

# verify_log WHAT LOG SNAPS: every key was executed; none after a snapshot ("<line count>
# <key>") in which it was recorded succeeded.
verify_log() {
  local what=$1 log=$2 snaps=$3 missing
  missing=$(awk -v n="$NKEYS" '{ seen[$1] = 1 } END { for (i = 0; i < n; i++) if (!(i in seen)) c++; print c + 0 }' "$log")
  assert_eq "$missing" 0 "keys of $what never executed"
  check_not_rerun "$what" "$log" "$snaps"
}

# verify_done HOME ID WHAT: the run of that home succeeded with all its steps.
verify_done() {
  local json n
  json=$("$WF" --home "$1" show-run "$2" -o json </dev/null) || fail "show-run of $3"
  [[ $(jq -r .status <<<"$json") == succeeded ]] || fail "$3 is $(jq -r .status <<<"$json")"
  n=$(jq '[.steps[] | select((.key | startswith("work/")) and .status == "succeeded")] | length' <<<"$json")
  assert_eq "$n" "$NKEYS" "succeeded work steps of $3"
}

# check_copy K ID: copy K opens and holds what the original store holds after the kill
# ($SCRATCH/orig.json, or nothing when the run was not recorded yet: ORIG_RC 3).
check_copy() {
  local k=$1 id=$2 home=$SCRATCH/copy-$1 rc=0
  expect_exit 0 wf --home "$home" list-runs -o json
  jq -e 'type == "array"' "$OUT" >/dev/null || fail "list-runs of copy $k is not an array"
  "$WF" --home "$home" show-run "$id" -o json </dev/null >"$SCRATCH/copy.json" 2>"$SCRATCH/copy.err" || rc=$?
  [[ $rc == "$ORIG_RC" ]] ||
    { cat "$SCRATCH/copy.err" >&2; fail "show-run $id of copy $k exited $rc, of the original $ORIG_RC"; }
  ((rc == 0)) || return 0
  [[ $(step_states "$SCRATCH/copy.json") == "$(step_states "$SCRATCH/orig.json")" ]] ||
    fail "copy $k and the original store disagree on the steps of $id"
  assert_eq "$(jq -r .status "$SCRATCH/copy.json")" "$(jq -r .status "$SCRATCH/orig.json")" "status of $id in copy $k"
}

# resume_copy K ID: the copy's run resumes to success without executing a recorded step.
resume_copy() {
  local k=$1 id=$2 home=$SCRATCH/copy-$1 log
  log=$home/runs/$id/exec.log
  [[ -f $log ]] || : >"$log"
  : >"$SCRATCH/copy-snaps"
  snapshot "$SCRATCH/copy.json" "$log" "$SCRATCH/copy-snaps" work/
  if [[ $(jq -r .status "$SCRATCH/copy.json") != succeeded ]]; then
    CMD_TIMEOUT=120 ok wf --home "$home" resume "$id"
  fi
  verify_done "$home" "$id" "run $id of copy $k"
  verify_log "run $id of copy $k" "$log" "$SCRATCH/copy-snaps"
  resumed=$((resumed + 1))
}

kills=0
resumed=0
run_no=0
next_run() {
  run_no=$((run_no + 1))
  id=power-$run_no
  snaps=$SCRATCH/snaps-$run_no
  : >"$snaps"
  state=new
}
next_run
every=$((RESUMES > 0 && KILLS > RESUMES ? KILLS / RESUMES : 1))

while ((kills < KILLS)); do
  if [[ $state == new ]]; then
    start_bg "$SCRATCH/wf.out" start "$DEF" --run-id "$id" --window "$WINDOW"
  else
    start_bg "$SCRATCH/wf.out" resume "$id"
  fi
  pid=$BG
  sleep "$(rand_sleep "$MAX_SLEEP")"
  rc=0
  if kill -STOP "$pid" 2>/dev/null && pid_alive "$pid"; then
    for c in $(children "$pid"); do kill -9 -- "-$c" 2>/dev/null || kill -9 "$c" 2>/dev/null || true; done
    copy=$SCRATCH/copy-$kills
    mkdir -p "$copy/store" "$copy/runs/$id"
    cp "$WF_HOME/store/data.mdb" "$WF_HOME/store/lock.mdb" "$copy/store/"
    log=$WF_HOME/runs/$id/exec.log
    if [[ -f $log ]]; then cp "$log" "$copy/runs/$id/"; fi
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rc=killed
  else
    wait "$pid" || rc=$?
  fi
  BG_PIDS=()

  ORIG_RC=0
  "$WF" show-run "$id" -o json </dev/null >"$SCRATCH/orig.json" 2>"$SCRATCH/orig.err" || ORIG_RC=$?
  if [[ $rc == killed ]]; then
    check_copy "$kills" "$id"
    if ((resumed < RESUMES && kills % every == every - 1 && ORIG_RC == 0)); then
      resume_copy "$kills" "$id"
    fi
    rm -rf "$SCRATCH/copy-$kills"
    kills=$((kills + 1))
  fi
  if ((ORIG_RC == 3)) && [[ $rc == killed && $state == new ]]; then
    continue  # killed before the run was recorded: start it again
  fi
  ((ORIG_RC == 0)) || { cat "$SCRATCH/orig.err" >&2; fail "show-run $id exited $ORIG_RC (wf: $rc)"; }
  state=begun
  log=$WF_HOME/runs/$id/exec.log
  snapshot "$SCRATCH/orig.json" "$log" "$snaps" work/
  status=$(jq -r .status "$SCRATCH/orig.json")
  case $status in
    succeeded)
      verify_done "$WF_HOME" "$id" "run $id"
      verify_log "run $id" "$log" "$snaps"
      next_run
      ;;
    interrupted | pending)
      [[ $rc == killed ]] || { cat "$SCRATCH/wf.out" >&2; fail "wf exited $rc leaving run $id $status"; } ;;
    *) cat "$SCRATCH/wf.out" >&2; fail "run $id is '$status' after kill $kills (wf: $rc)" ;;
  esac
done

runs=$((run_no - 1))
if [[ $state == begun ]]; then
  CMD_TIMEOUT=300 ok wf resume "$id"
  verify_done "$WF_HOME" "$id" "run $id"
  verify_log "run $id" "$WF_HOME/runs/$id/exec.log" "$snaps"
  runs=$run_no
fi
echo "power-loss: kills=$kills copies-resumed=$resumed runs=$runs"
