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
source "$(dirname "$0")/../integration/lib.sh" "$1" "$2"

DEATHS=${3:-40}
DEF=$DEFS/crash200.json
NKEYS=200
WINDOW=8
command -v mdb_dump >/dev/null || fail "mdb_dump is required (apt-get install lmdb-utils)"

# hex STRING: the bytes of STRING in lower-case hex.
hex() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }

# dump_keys DB: the keys of one database of the store, in hex, one a line.
dump_keys() {
  mdb_dump -s "$1" "$WF_HOME/store" 2>"$SCRATCH/dump.err" >"$SCRATCH/dump.out" ||
    { cat "$SCRATCH/dump.err" >&2; fail "mdb_dump -s $1 fails after death $deaths"; }
  awk '/^DATA=END/ { h = 0 } h && (++n % 2) { print substr($0, 2) } /^HEADER=END/ { h = 1 }' \
    "$SCRATCH/dump.out"
}

# check_indexes: runs, runs_by_status (status . created_at . id) and runs_by_time
# (created_at . id) agree; each run's status byte is printed as "<hex id> <byte>" into
# $SCRATCH/status_bytes.
check_indexes() {
  local bad
  dump_keys runs >"$SCRATCH/k.runs"
  dump_keys runs_by_status >"$SCRATCH/k.status"
  dump_keys runs_by_time >"$SCRATCH/k.time"
  bad=$(awk -v out="$SCRATCH/status_bytes" '
    FILENAME == ARGV[1] { run[$1] = 1; next }
    FILENAME == ARGV[2] { id = substr($1, 19); ns[id]++; sc[id] = substr($1, 3, 16); sb[id] = substr($1, 1, 2); next }
    { id = substr($1, 17); nt[id]++; tc[id] = substr($1, 1, 16) }
    END {
      for (r in run) {
        if (ns[r] != 1) print "run " r " has " ns[r] + 0 " runs_by_status entries"
        if (nt[r] != 1) print "run " r " has " nt[r] + 0 " runs_by_time entries"
        if (ns[r] == 1 && nt[r] == 1 && sc[r] != tc[r]) print "run " r ": created_at " sc[r] " in runs_by_status, " tc[r] " in runs_by_time"
        print r, sb[r] > out
      }
      for (r in ns) if (!(r in run)) print "runs_by_status has an entry for missing run " r
      for (r in nt) if (!(r in run)) print "runs_by_time has an entry for missing run " r
    }' "$SCRATCH/k.runs" "$SCRATCH/k.status" "$SCRATCH/k.time")
  [[ -z $bad ]] || fail "index inconsistent after death $deaths:
$bad"
}

# check_run JSON-FILE ID: the stored status byte matches the status show-run reports, and
# the run record's succeeded count is the number of succeeded steps it lists (stage
# records, whose key prefixes the keys of their items, are not counted).
check_run() {
  local json=$1 id=$2 status byte want n c
  status=$(jq -r .status "$json")
  byte=$(awk -v id="$(hex "$id")" '$1 == id { print $2 }' "$SCRATCH/status_bytes")
  case $status in
    pending) want=00 ;; running | interrupted) want=01 ;; succeeded) want=02 ;;
    failed) want=03 ;; degraded) want=04 ;; canceled) want=05 ;; *) want='?' ;;
  esac
  [[ $byte == "$want" ]] || fail "run $id is $status but its runs_by_status key has status byte '$byte'"
  n=$(jq '[.steps[] | .key] as $keys
          | [.steps[] | select(.status == "succeeded")
             | select(.key as $k | $keys | any(startswith($k + "/")) | not)] | length' "$json")
  c=$(jq .counts.succeeded "$json")
  assert_eq "$c" "$n" "run $id: succeeded count of the run record vs succeeded steps listed (death $deaths)"
}

# verify_run ID LOG SNAPS: the end-of-run checks; adds its re-executions to $dups.
verify_run() {
  local id=$1 log=$2 snaps=$3 n missing late
  run_json "$id"
  [[ $(jq -r .status "$SCRATCH/run.json") == succeeded ]] || fail "run $id is $(jq -r .status "$SCRATCH/run.json")"
  n=$(jq '[.steps[] | select((.key | startswith("work/")) and .status == "succeeded")] | length' "$SCRATCH/run.json")
  assert_eq "$n" "$NKEYS" "succeeded work steps of $id"
  check_indexes
  check_run "$SCRATCH/run.json" "$id"
  missing=$(awk -v n="$NKEYS" '{ seen[$1] = 1 } END { for (i = 0; i < n; i++) if (!(i in seen)) c++; print c + 0 }' "$log")
  assert_eq "$missing" 0 "keys of $id never executed"
  late=$(awk 'FNR == NR { if (!($2 in first) || $1 < first[$2]) first[$2] = $1; next }
              ($1 in first) && FNR > first[$1] { print FNR ": " $0 " (recorded succeeded at line " first[$1] ")" }' \
    "$snaps" "$log")
  [[ -z $late ]] || fail "run $id executed steps again after they were recorded succeeded:
$late"
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
  lc=$(lines "$log")
  jq -r '.steps[] | select((.key | startswith("work/")) and .status == "succeeded") | .key | sub("^work/"; "")' \
    "$SCRATCH/snap.json" | awk -v n="$lc" '{ print n, $0 }' >>"$snaps"
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
