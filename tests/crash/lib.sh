# Helpers shared by the crash tests; sourced after tests/integration/lib.sh.
#
# The tests keep a side file in which every execution of a step appends a line whose first
# field names the step, and, after every crash, a snapshot file of "<side file length>
# <step>" lines for the steps the store then records as succeeded. A line for a step after
# the position of its first snapshot is an execution of a step already recorded done.

# rand_sleep MAX: a random duration in [0.05, MAX] seconds.
rand_sleep() {
  awk -v r="$RANDOM" -v m="$1" 'BEGIN { printf "%.3f", 0.05 + (r / 32767) * (m - 0.05) }'
}

# recorded_keys JSON-FILE [PREFIX]: the steps show-run lists as succeeded, one a line,
# without the records of fan-out stages (whose key prefixes the keys of their items).
# With PREFIX, only the keys that start with it, PREFIX removed.
recorded_keys() {
  jq -r --arg p "${2:-}" '[.steps[] | .key] as $keys
    | .steps[] | select(.status == "succeeded")
    | select(.key as $k | $keys | any(startswith($k + "/")) | not)
    | select(.key | startswith($p)) | .key | .[($p | length):]' "$1"
}

# snapshot JSON-FILE LOG SNAPS [PREFIX]: appends "<lines of LOG> <step>" to SNAPS for every
# step recorded succeeded in JSON-FILE.
snapshot() {
  local n
  n=$(lines "$2")
  recorded_keys "$1" "${4:-}" | awk -v n="$n" '{ print n, $0 }' >>"$3"
}

# check_not_rerun WHAT LOG SNAPS: no line of LOG names a step after the snapshot in which
# it was first recorded succeeded.
check_not_rerun() {
  local late
  late=$(awk 'FNR == NR { if (!($2 in first) || $1 < first[$2]) first[$2] = $1; next }
              ($1 in first) && FNR > first[$1] { print FNR ": " $0 " (recorded succeeded at line " first[$1] ")" }' \
    "$3" "$2")
  [[ -z $late ]] || fail "$1 executed steps again after they were recorded succeeded:
$late"
}

# check_all_ran WHAT LOG KEYS-FILE: every step named in KEYS-FILE (one a line) has a line in LOG.
check_all_ran() {
  local missing
  missing=$(awk 'FNR == NR { want[$1] = 1; next } { seen[$1] = 1 }
                 END { for (k in want) if (!(k in seen)) { printf "%s ", k; if (++c == 20) exit } }' "$3" "$2")
  [[ -z $missing ]] || fail "$1 never executed: $missing"
}

# hex STRING: the bytes of STRING in lower-case hex.
hex() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }

# dump_keys DB: the keys of one database of the store, in hex, one a line.
dump_keys() {
  mdb_dump -s "$1" "$WF_HOME/store" 2>"$SCRATCH/dump.err" >"$SCRATCH/dump.out" ||
    { cat "$SCRATCH/dump.err" >&2; fail "mdb_dump -s $1 fails ($WHEN)"; }
  awk '/^DATA=END/ { h = 0 } h && (++n % 2) { print substr($0, 2) } /^HEADER=END/ { h = 1 }' \
    "$SCRATCH/dump.out"
}

# check_indexes: runs, runs_by_status (status . created_at . id) and runs_by_time
# (created_at . id) agree: every run in exactly one entry of each, with the same
# created_at, and no entry for a missing run. Each run's status byte is written as
# "<hex id> <byte>" to $SCRATCH/status_bytes for check_run. $WHEN names the moment in
# messages.
check_indexes() {
  local bad
  command -v mdb_dump >/dev/null || fail "mdb_dump is required (apt-get install lmdb-utils)"
  dump_keys runs >"$SCRATCH/k.runs"
  dump_keys runs_by_status >"$SCRATCH/k.status"
  dump_keys runs_by_time >"$SCRATCH/k.time"
  bad=$(awk -v out="$SCRATCH/status_bytes" '
    FILENAME == ARGV[1] { run[$1] = 1; next }
    FILENAME == ARGV[2] { id = substr($1, 19); ns[id]++; sc[id] = substr($1, 3, 16); sb[id] = substr($1, 1, 2); next }
    { id = substr($1, 17); nt[id]++; tc[id] = substr($1, 1, 16) }
    END {
      printf "" > out
      for (r in run) {
        if (ns[r] != 1) print "run " r " has " ns[r] + 0 " runs_by_status entries"
        if (nt[r] != 1) print "run " r " has " nt[r] + 0 " runs_by_time entries"
        if (ns[r] == 1 && nt[r] == 1 && sc[r] != tc[r]) print "run " r ": created_at " sc[r] " in runs_by_status, " tc[r] " in runs_by_time"
        print r, sb[r] > out
      }
      for (r in ns) if (!(r in run)) print "runs_by_status has an entry for missing run " r
      for (r in nt) if (!(r in run)) print "runs_by_time has an entry for missing run " r
    }' "$SCRATCH/k.runs" "$SCRATCH/k.status" "$SCRATCH/k.time")
  [[ -z $bad ]] || fail "index inconsistent ($WHEN):
$bad"
}

# check_run JSON-FILE ID: after check_indexes, the status byte of the run's index entry
# matches the status show-run reports, and the run record's succeeded count is the
# number of succeeded steps show-run lists (fan-out stage records not counted).
check_run() {
  local json=$1 id=$2 status byte want n c
  status=$(jq -r .status "$json")
  byte=$(awk -v id="$(hex "$id")" '$1 == id { print $2 }' "$SCRATCH/status_bytes")
  case $status in
    pending) want=00 ;; running | interrupted) want=01 ;; succeeded) want=02 ;;
    failed) want=03 ;; degraded) want=04 ;; canceled) want=05 ;; *) want='?' ;;
  esac
  [[ $byte == "$want" ]] || fail "run $id is $status but its runs_by_status key has status byte '$byte' ($WHEN)"
  n=$(recorded_keys "$json" | wc -l)
  c=$(jq .counts.succeeded "$json")
  assert_eq "$c" "$n" "run $id: succeeded count of the run record vs succeeded steps listed ($WHEN)"
}
