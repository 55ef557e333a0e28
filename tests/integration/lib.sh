# lib.sh — common setup for the integration tests, sourced by every t_*.sh.
#
# A test is run as `bash t_x.sh <path-to-wf> <tests-source-dir>`. It gets a scratch
# directory (its working directory, removed on exit) with WF_HOME inside it, and helpers
# to run wf and check what it did. `-o json` output is read with jq, a test dependency
# (scripts/setup.sh --test-deps installs it).
set -euo pipefail

WF=${1:?usage: bash t_x.sh <path-to-wf> <tests-source-dir>}
TESTS=${2:?usage: bash t_x.sh <path-to-wf> <tests-source-dir>}
case $WF in /*) ;; *) WF=$PWD/$WF ;; esac
case $TESTS in /*) ;; *) TESTS=$PWD/$TESTS ;; esac
DEFS=$TESTS/data/wf               # workflow definitions used by the tests
TEST_NAME=$(basename "$0" .sh)

if ! command -v jq >/dev/null; then
  echo "$TEST_NAME: jq is required (apt-get install jq, or scripts/setup.sh --deps-only --test-deps)" >&2
  exit 1
fi
[[ -x $WF ]] || { echo "$TEST_NAME: no wf binary at $WF" >&2; exit 1; }

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wf-$TEST_NAME.XXXXXX")
export WF_HOME=$SCRATCH/home
export NO_COLOR=1
OUT=$SCRATCH/stdout              # what the last expect_exit captured
ERR=$SCRATCH/stderr
BG_PIDS=()                       # background wf processes to kill on exit

cleanup() {
  local rc=$? p
  for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if ((rc != 0)) && [[ -n ${KEEP_SCRATCH:-} ]]; then
    echo "$TEST_NAME: scratch kept in $SCRATCH" >&2
  else
    rm -rf "$SCRATCH"
  fi
  return "$rc"
}
trap cleanup EXIT
cd "$SCRATCH"

# ---- reporting -------------------------------------------------------------------------

fail() {
  echo "FAIL [$TEST_NAME]: $*" >&2
  exit 1
}

note() { echo "-- $*"; }

# skip WHY: the test cannot run here; exit 77, which ctest reports as skipped (never as
# passed), with the reason.
skip() {
  echo "SKIP [$TEST_NAME]: $*" >&2
  exit 77
}

# show_captured: print what the last command wrote, for failure messages.
show_captured() {
  echo "---- stdout ----" >&2
  head -c 3000 "$OUT" >&2 || true
  echo "---- stderr ----" >&2
  head -c 3000 "$ERR" >&2 || true
  echo "----------------" >&2
}

# ---- running wf --------------------------------------------------------------------------

# wf ARGS...: the binary under test.
wf() { "$WF" "$@"; }

# expect_exit N CMD ARGS...: run CMD (a leading `wf` means the binary under test) with no
# stdin and at most $CMD_TIMEOUT seconds (default 60), stdout to $OUT and stderr to $ERR;
# fail unless it exits with N.
expect_exit() {
  local want=$1 rc=0
  shift
  [[ $1 == wf ]] && set -- "$WF" "${@:2}"
  timeout -k 5 "${CMD_TIMEOUT:-60}" "$@" </dev/null >"$OUT" 2>"$ERR" || rc=$?
  if [[ $rc != "$want" ]]; then
    show_captured
    fail "expected exit $want, got $rc from: ${*/#$WF/wf}"
  fi
}

# ok CMD ARGS...: expect_exit 0.
ok() { expect_exit 0 "$@"; }

# expect_nonzero CMD ARGS...: fail if CMD exits 0; the code is left in $RC.
expect_nonzero() {
  RC=0
  [[ $1 == wf ]] && set -- "$WF" "${@:2}"
  timeout -k 5 "${CMD_TIMEOUT:-60}" "$@" </dev/null >"$OUT" 2>"$ERR" || RC=$?
  if ((RC == 0)); then
    show_captured
    fail "expected a failure from: ${*/#$WF/wf}"
  fi
}

# ---- assertions ----------------------------------------------------------------------------

# assert_contains FILE TEXT: FILE contains TEXT (fixed string, case-sensitive).
assert_contains() {
  grep -qF -- "$2" "$1" || {
    show_captured
    fail "$(basename "$1") does not contain '$2'"
  }
}

# assert_icontains FILE TEXT: the same, ignoring case.
assert_icontains() {
  grep -qiF -- "$2" "$1" || {
    show_captured
    fail "$(basename "$1") does not contain '$2' (any case)"
  }
}

# assert_not_contains FILE TEXT
assert_not_contains() {
  if grep -qF -- "$2" "$1"; then
    show_captured
    fail "$(basename "$1") contains '$2'"
  fi
}

# assert_eq GOT WANT WHAT
assert_eq() {
  [[ $1 == "$2" ]] || fail "$3: got '$1', want '$2'"
}

# assert_json FILE FILTER: jq -e FILTER on FILE is true.
assert_json() {
  # jq -e succeeds on empty input: an empty file must fail the check, not pass it.
  [[ -s $1 ]] && jq -e "$2" "$1" >/dev/null 2>&1 || {
    jq -c . "$1" 2>/dev/null | head -c 3000 >&2 || head -c 3000 "$1" >&2
    echo >&2
    fail "$(basename "$1") fails the check: $2"
  }
}

# json_get FILE FILTER: print jq -r FILTER of FILE (fails when FILE is not JSON).
json_get() {
  jq -r "$2" "$1" || fail "$(basename "$1") is not valid JSON (filter $2)"
}

# run_json ID: show-run ID -o json into $SCRATCH/run.json (also in $OUT).
run_json() {
  ok wf show-run "$1" -o json "${@:2}"
  cp "$OUT" "$SCRATCH/run.json"
}

# run_status ID: print the run's status.
run_status() {
  "$WF" show-run "$1" -o json </dev/null 2>/dev/null | jq -r .status
}

# step_field ID KEY FIELD: print one field of one step of the run.
step_field() {
  "$WF" show-run "$1" -o json </dev/null | jq -r --arg k "$2" --arg f "$3" \
    '.steps[] | select(.key == $k) | .[$f]'
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; fail after SECONDS.
wait_for() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  fail "timed out after ${limit}s waiting for: $*"
}

# wait_status ID STATUS SECONDS: poll until the run has STATUS.
wait_status() {
  local s= i
  for ((i = 0; i < ${3:-10} * 10; i++)); do
    s=$(run_status "$1" || true)
    [[ $s == "$2" ]] && return 0
    sleep 0.1
  done
  fail "run $1 is '$s', not '$2' after ${3:-10}s"
}

# lines FILE: number of lines (0 when FILE does not exist).
lines() {
  if [[ -f $1 ]]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

# now: seconds since the epoch with nanoseconds.
now() { date +%s.%N; }

# elapsed START: seconds since START (from `now`).
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# less_than A B: A < B as numbers.
less_than() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

# ---- processes (read /proc, so no procps needed) ------------------------------------------

# proc_stat PID: set ST to "STATE PPID PGRP ..." of a process (the fields after its name);
# fails when it does not exist. Uses no subprocess: it runs in loops over /proc.
proc_stat() {
  ST=
  read -r ST 2>/dev/null <"/proc/$1/stat" || return 1
  ST=${ST##*) }
}

# proc_field PID: print "STATE PPID PGRP" of a process, nothing when it does not exist.
proc_field() {
  proc_stat "$1" || return 0
  local a
  read -r -a a <<<"$ST"
  echo "${a[0]} ${a[1]} ${a[2]}"
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
  proc_stat "$1" && [[ ${ST:0:1} != Z ]]
}

# group_alive PGID: some live (non-zombie) process is in process group PGID.
group_alive() {
  local want=$1 d a
  for d in /proc/[0-9]*; do
    proc_stat "${d#/proc/}" || continue
    read -r -a a <<<"$ST"
    [[ ${a[2]} == "$want" && ${a[0]} != Z ]] && return 0
  done
  return 1
}

# children PID: pids whose parent is PID.
children() {
  local want=$1 d a
  for d in /proc/[0-9]*; do
    proc_stat "${d#/proc/}" || continue
    read -r -a a <<<"$ST"
    [[ ${a[1]} == "$want" ]] && echo "${d#/proc/}"
  done
  return 0
}

# start_bg OUTFILE ARGS...: run `wf ARGS...` in the background with SIGINT at its default
# disposition (bash ignores it in background jobs); its pid is left in $BG.
start_bg() {
  local out=$1
  shift
  env --default-signal=INT "$WF" "$@" </dev/null >"$out" 2>&1 &
  BG=$!
  BG_PIDS+=("$BG")
}

# start_elsewhere OUTFILE ARGS...: like start_bg, but wf sees another boot id, as a process
# on another machine sharing the store would (a mount namespace with its own
# /proc/sys/kernel/random/boot_id; needs root: check `unshare -m true` first).
start_elsewhere() {
  local out=$1
  shift
  echo "00000000-0000-4000-8000-0000000000ff" >"$SCRATCH/other_boot_id"
  unshare -m sh -c 'mount --bind "$1" /proc/sys/kernel/random/boot_id && shift && exec "$@"'     sh "$SCRATCH/other_boot_id" "$WF" "$@" </dev/null >"$out" 2>&1 &
  BG=$!
  BG_PIDS+=("$BG")
}

# at_least FILE N: FILE has N lines or more.
at_least() { (($(lines "$1") >= $2)); }

# wait_exit PID SECONDS: wait for background PID to exit within SECONDS; its exit code is
# left in $RC. Fails (and kills it) when it does not exit in time.
wait_exit() {
  local pid=$1 limit=$2 i
  for ((i = 0; i < limit * 20; i++)); do
    pid_alive "$pid" || break
    sleep 0.05
  done
  if pid_alive "$pid"; then
    kill -9 "$pid" 2>/dev/null || true
    fail "process $pid did not exit within ${limit}s"
  fi
  RC=0
  wait "$pid" 2>/dev/null || RC=$?
}

# max_overlap FILE [FILTER-WORD]: FILE has lines "start <t> <word>..." / "end <t> <word>..."
# written by steps; print the largest number of steps between start and end at one time
# (only lines whose third field is FILTER-WORD when it is given). Ends sort before starts
# at equal times, so touching intervals do not count as overlapping.
max_overlap() {
  awk -v w="${2:-}" '(w == "" || $3 == w) { print $2, ($1 == "start" ? 1 : 0) }' "$1" |
    sort -k1,1g -k2,2n |
    awk '{ n += ($2 == 1 ? 1 : -1); if (n > m) m = n } END { print m + 0 }'
}

# is_iso_utc VALUE: VALUE is an ISO-8601 UTC timestamp.
is_iso_utc() {
  [[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$ ]]
}

# crash PID: what a machine crash does to a wf process: freeze it, kill -9 the process
# groups of its step children (each step runs in its own group), then kill -9 it.
crash() {
  local pid=$1 c
  kill -STOP "$pid" 2>/dev/null || return 0
  for c in $(children "$pid"); do kill -9 -- "-$c" 2>/dev/null || kill -9 "$c" 2>/dev/null || true; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# has_lines FILE N: FILE has at least N lines.
has_lines() { (($(lines "$1") >= $2)); }

# ---- a stand-in for remote APIs (tests/stubs/wf-stub-http) ------------------------------

STUB_BIN=$(dirname "$WF")/../tests/stubs/wf-stub-http
STUB_PID=

# start_api_stub SCRIPT: a fresh wf-stub-http serving SCRIPT (body files beside it), its
# request log in $SCRATCH/requests.jsonl; TOGGL_API_BASE and FIBERY_API_BASE point at it.
# One already running is stopped first.
start_api_stub() {
  [[ -x $STUB_BIN ]] || fail "no stub server at $STUB_BIN (build the tests)"
  [[ -n $STUB_PID ]] && { kill "$STUB_PID" 2>/dev/null || true; wait "$STUB_PID" 2>/dev/null || true; }
  rm -f "$SCRATCH/port" "$SCRATCH/requests.jsonl"
  "$STUB_BIN" --script "$1" --port-file "$SCRATCH/port" --log "$SCRATCH/requests.jsonl" \
    --max-seconds 240 &
  STUB_PID=$!
  BG_PIDS+=("$STUB_PID")
  wait_for 10 test -s "$SCRATCH/port"
  local port
  port=$(cat "$SCRATCH/port")
  export TOGGL_API_BASE=http://127.0.0.1:$port FIBERY_API_BASE=http://127.0.0.1:$port
}

# requests PATH-SUBSTRING [BODY-SUBSTRING [BODY-SUBSTRING]]: how many requests the stub
# has logged (with bodies containing both substrings).
requests() {
  [[ -s $SCRATCH/requests.jsonl ]] || { echo 0; return; }
  jq -r --arg p "$1" --arg b "${2:-}" --arg c "${3:-}" \
    'select((.path | contains($p)) and ((.body // "") | contains($b) and contains($c))) | .path' \
    "$SCRATCH/requests.jsonl" | wc -l
}
