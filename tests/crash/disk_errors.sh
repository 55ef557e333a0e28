# disk_errors.sh <wf> <tests-dir>: a commit that fails (disk full, I/O error) stops the run
# cleanly and leaves it resumable.
#
# WF_FAULT=enospc:N / eio:N make the N-th store write of the wf process fail (the
# transaction is aborted; see store/fault.c). A five-stage workflow (single, fan-out of
# 12, single, fan-out of 12, single) is started with enospc:N for every N from 2 until
# a run has fewer writes than N, and with eio:N for a few N; each run is then resumed
# once more with a fault, then without one. After each failure:
#   - wf exits 5 and says on stderr that the run stopped on the store error (no space
#     left for enospc, an input/output error for eio, on the store's data file) and how to
#     resume it (or, when the failed write was the one recording a new run or taking the
#     run over, says so with the store error);
#   - `wf show-run` works, the run is interrupted and its error names the store error;
#   - every stage the progress output reported succeeded is recorded succeeded (its
#     record and at least as many succeeded steps as reported);
# and `wf resume` without the fault finishes the run, having executed every item, and
# no item recorded succeeded again. A fault in the very first write of a new store (its
# creation) fails `wf start` with exit 5 and leaves a store that opens.
# Prints "disk-errors: failures=F runs=R writes-per-run=W".
source "$(dirname "$0")/../integration/lib.sh" "$1" "$2"

NITEMS=12
DEF=$SCRATCH/five.json
cat >"$DEF" <<'EOF'
{
  "name": "five",
  "version": 1,
  "description": "single, fan-out, single, fan-out, single; items append '<stage> <item>' to a side file",
  "params": { "log": { "type": "string", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 }, "timeout_s": 60 },
  "stages": [
    { "id": "a", "run": ["sh", "-c", "echo a >> \"$1\"; echo '[0,1,2,3,4,5,6,7,8,9,10,11]'", "sh", "${params.log}"] },
    { "id": "b", "needs": ["a"], "foreach": "${stages.a.output}", "key": "${item}",
      "run": ["sh", "-c", "echo \"b $1\" >> \"$2\"; sleep 0.01; echo \"$1\"", "sh", "${item}", "${params.log}"] },
    { "id": "c", "needs": ["b"], "run": ["sh", "-c", "echo c >> \"$1\"; echo '[0,1,2,3,4,5,6,7,8,9,10,11]'", "sh", "${params.log}"] },
    { "id": "d", "needs": ["c"], "foreach": "${stages.c.output}", "key": "${item}",
      "run": ["sh", "-c", "echo \"d $1\" >> \"$2\"; sleep 0.01; echo \"$1\"", "sh", "${item}", "${params.log}"] },
    { "id": "e", "needs": ["d"], "run": ["sh", "-c", "echo e >> \"$1\"; echo '\"e\"'", "sh", "${params.log}"] }
  ]
}
EOF

# recorded JSON-FILE: "<line count> <step key>" of each step recorded succeeded, where
# keys of the side file are "a", "b 3" and recorded keys "a", "b/3".
recorded() {
  jq -r '.steps[] | select(.status == "succeeded") | .key | sub("/"; " ")' "$1" |
    awk -v n="$(lines "$log")" '{ print n, $0 }'
}

# cause FAULT: what wf must say the failed write was: a full disk or an I/O error.
cause() {
  case $1 in
    enospc*) echo "no space left on the device" ;;
    *) echo "input/output error" ;;
  esac
}

# check_stopped WHAT FAULT: the checks after a run stopped on a failed commit.
check_stopped() {
  local what=$1 fault=$2 bad
  assert_contains "$ERR" "$(cause "$fault")"
  assert_contains "$ERR" "$WF_HOME/store/data.mdb"
  cp "$ERR" "$SCRATCH/stopped.err"
  if ! "$WF" show-run "$id" >/dev/null 2>&1 </dev/null; then
    expect_exit 3 wf show-run "$id"
    # The write that failed was the one recording the new run.
    assert_contains "$SCRATCH/stopped.err" "cannot record run"
    failures=$((failures + 1))
    return 0
  fi
  ok wf show-run "$id" -o json
  cp "$OUT" "$SCRATCH/run.json"
  # The write that failed was the one taking the run over: nothing ran.
  if grep -qF "cannot take over run $id" "$SCRATCH/stopped.err"; then
    recorded "$SCRATCH/run.json" >>"$snaps"
    failures=$((failures + 1))
    return 0
  fi
  assert_contains "$SCRATCH/stopped.err" "run $id stopped"
  assert_contains "$SCRATCH/stopped.err" "wf resume $id"
  assert_eq "$(jq -r .status "$SCRATCH/run.json")" interrupted "status of $id after $what with WF_FAULT=$fault"
  # The run record's error says why; the record is written by a later transaction, so a
  # failure of that last write leaves none.
  if [[ $(jq -r .error "$SCRATCH/run.json") != null ]]; then
    assert_json "$SCRATCH/run.json" ".error | test(\"$(cause "$fault")\")"
  fi
  # Stage lines of the progress output: "stage <id> succeeded in <time> (<n> steps)".
  bad=$(awk '$1 == "stage" && $3 == "succeeded" { n = $0; sub(/.*\(/, "", n); sub(/ step.*/, "", n); print $2, n }' \
          "$OUT.progress" | while read -r stage n; do
    jq -r --arg s "$stage" --argjson n "$n" '
      . as $r
      | ([$r.steps[] | select(.stage == $s and .status == "succeeded" and .key != $s)] | length) as $items
      | ([$r.steps[] | select(.key == $s and .status == "succeeded")] | length) as $rec
      | if ($rec == 1 and ($items >= $n or $n <= 1)) then empty
        else "stage \($s): reported succeeded with \($n) steps; recorded: stage record \($rec), \($items) steps succeeded" end' \
      "$SCRATCH/run.json"
  done)
  [[ -z $bad ]] || { cat "$OUT.progress" >&2; fail "after $what with WF_FAULT=$fault, progress reported more than the store holds:
$bad"; }
  recorded "$SCRATCH/run.json" >>"$snaps"
  failures=$((failures + 1))
}

# attempt FAULT CMD...: run wf CMD with WF_FAULT; 5 = it stopped on the fault (checked),
# 0 = the run has fewer writes than N. Sets $RC.
attempt() {
  local fault=$1
  shift
  RC=0
  WF_FAULT=$fault timeout -k 5 60 "$WF" "$@" </dev/null >"$OUT" 2>"$ERR" || RC=$?
  cp "$OUT" "$OUT.progress"
  case $RC in
    5) check_stopped "wf $1" "$fault" ;;
    0) ;;
    *) show_captured; fail "wf $* with WF_FAULT=$fault exited $RC (want 5 or 0)" ;;
  esac
}

# finish: resume without fault; the run succeeds, every item ran, none recorded ran again.
finish() {
  local late missing
  if [[ $(run_status "$id") != succeeded ]]; then ok wf resume "$id"; fi
  run_json "$id"
  assert_eq "$(jq -r .status "$SCRATCH/run.json")" succeeded "status of $id"
  assert_eq "$(jq '[.steps[] | select(.status == "succeeded")] | length' "$SCRATCH/run.json")" \
    $((3 + 2 * NITEMS + 2)) "succeeded steps and stage records of $id"
  missing=$(awk -v n="$NITEMS" '{ seen[$0] = 1 }
    END { if (!("a" in seen)) c++; if (!("c" in seen)) c++; if (!("e" in seen)) c++
          for (i = 0; i < n; i++) { if (!(("b " i) in seen)) c++; if (!(("d " i) in seen)) c++ }
          print c + 0 }' "$log")
  assert_eq "$missing" 0 "steps of $id never executed"
  late=$(awk 'FNR == NR { k = $2 ($3 == "" ? "" : " " $3); if (!(k in first) || $1 < first[k]) first[k] = $1; next }
              ($0 in first) && FNR > first[$0] { print FNR ": " $0 " (recorded succeeded at line " first[$0] ")" }' \
    "$snaps" "$log")
  [[ -z $late ]] || fail "run $id executed steps again after they were recorded succeeded:
$late"
}

# finish_new: the run was never recorded: start it without fault, then finish.
finish_new() {
  ok wf start "$DEF" --run-id "$id" -p log="$log"
  finish
}

failures=0
runs=0
new_run() {
  runs=$((runs + 1))
  id=disk-$runs
  log=$SCRATCH/exec-$runs.log
  snaps=$SCRATCH/snaps-$runs
  : >"$log"
  : >"$snaps"
}

# The store's creation is the first write.
note "enospc:1 on a new store"
new_run
expect_exit 5 env WF_FAULT=enospc:1 "$WF" start "$DEF" --run-id "$id" -p log="$log"
assert_contains "$ERR" "no space left on the device holding $WF_HOME/store/data.mdb"
ok wf list-runs
expect_exit 3 wf show-run "$id"
finish_new

# start_with FAULT: a new run started with FAULT, resumed with eio at a random early
# write, then finished. Returns 1 when FAULT's write was never reached.
start_with() {
  new_run
  attempt "$1" start "$DEF" --run-id "$id" -p log="$log" --window 4
  if ((RC == 0)); then finish; return 1; fi
  if ! "$WF" show-run "$id" >/dev/null 2>&1 </dev/null; then
    finish_new  # the write that failed was the one recording the new run
    return 0
  fi
  attempt "eio:$((RANDOM % 4 + 1))" resume "$id"
  finish
}

n=2
while start_with "enospc:$n"; do
  n=$((n + 1))
  ((n < 500)) || fail "the workflow did not finish within 500 writes"
done
writes=$((n - 1))
note "enospc at every write 2..$writes"
# Group commits depend on timing, so the last writes may not be reached this time.
for n in 2 3 $((writes / 2)) $((writes - 1)); do
  start_with "eio:$n" || ((n > 3)) || fail "eio:$n was not reached"
done
echo "disk-errors: failures=$failures runs=$runs writes-per-run=$writes"
