# A damaged store: wf reports what it cannot read and keeps serving the rest; it never
# crashes (exit < 128, no sanitizer report).
#
#  (a) one step record garbled (six ways: cut short, unknown envelope tag, bytes
#      overwritten, a bogus zlib payload, a string claiming 4 GiB, 5000 nested arrays):
#      show-run names the unreadable step and still shows the others or exits non-zero;
#      list-runs and the other runs are unaffected; a resume does not crash.
#  (b) one run record garbled: list-runs lists the other runs and names the unreadable one,
#      the same way in every output format; show-run/logs/cancel-run of it say it is
#      unreadable; new runs can still be started.
#  (c) data.mdb cut to half its size, or to one page: every command fails with a store
#      error (exit 5), no crash.
#  (d) data.mdb replaced by random bytes: the same. A garbled lock.mdb is rebuilt.
#
# Records are rewritten with mdb_dump / mdb_load (lmdb-utils), the store being closed.
source "$(dirname "$0")/lib.sh" "$@"

for t in mdb_dump mdb_load; do
  command -v "$t" >/dev/null || fail "$t is required (lmdb-utils; scripts/setup.sh --test-deps)"
done

log=$SCRATCH/side.log
STORE=$WF_HOME/store
PRISTINE=$SCRATCH/pristine

# ---- the store: three runs of three.json and one failed run of fail.json --------------------
for id in c1 c2 c3; do ok wf start "$DEFS/three.json" -p log="$log" --run-id "$id"; done
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id f1
cp -a "$WF_HOME" "$PRISTINE"

restore() {
  rm -rf "$WF_HOME"
  cp -a "$PRISTINE" "$WF_HOME"
  : >"$log"
}

PROBLEMS=()
problem() { PROBLEMS+=("$*"); }

# hexof STRING: its bytes in hex, as mdb_dump prints keys.
hexof() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

# garble DB KEY-HEX MODE: replace the value of one record of DB (the store closed).
garble() {
  local db=$1 key=$2 mode=$3
  mdb_dump -s "$db" "$STORE" >"$SCRATCH/dump" || fail "mdb_dump -s $db"
  grep -qx " $key" "$SCRATCH/dump" || fail "no key $key in database $db"
  awk -v k=" $key" -v mode="$mode" '
    found == 1 {
      v = substr($0, 2)
      if (mode == "short")        v = substr(v, 1, int(length(v) / 4) * 2)
      else if (mode == "tag")     v = "07" substr(v, 3)
      else if (mode == "bytes")   v = substr(v, 1, 20) "ffffffffffffffffffff" substr(v, 41)
      else if (mode == "zlib")    v = "0100100000deadbeefdeadbeefdeadbeef"
      else if (mode == "hugestr") v = "0093dbffffffff41"
      else if (mode == "deep")  { v = "00"; for (i = 0; i < 5000; i++) v = v "91"; v = v "c0" }
      print " " v
      found = 2
      next
    }
    $0 == k { found = 1 }
    { print }' "$SCRATCH/dump" >"$SCRATCH/dump.new"
  mdb_load -s "$db" "$STORE" <"$SCRATCH/dump.new" 2>"$SCRATCH/load.err" ||
    { cat "$SCRATCH/load.err" >&2; fail "mdb_load -s $db"; }
  # The damage is really there.
  mdb_dump -s "$db" "$STORE" | grep -A1 -x " $key" | tail -n 1 >"$SCRATCH/value"
  grep -qxF "$(grep -A1 -x " $key" "$SCRATCH/dump.new" | tail -n 1)" "$SCRATCH/value" ||
    fail "garbling $db/$key ($mode) did not take"
}

# try CMD...: run wf CMD with a time limit; RC, $OUT, $ERR. A crash, a hang or a sanitizer
# report is a problem.
try() {
  RC=0
  timeout -k 5 30 "$WF" "$@" </dev/null >"$OUT" 2>"$ERR" || RC=$?
  if ((RC >= 124)); then
    problem "$CASE: wf $* crashed or hung (exit $RC$( ((RC > 128)) && echo ", signal $((RC - 128))"))"
    return 1
  fi
  if grep -qE 'Sanitizer|runtime error:' "$ERR"; then
    problem "$CASE: wf $*: sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$ERR")"
    return 1
  fi
  return 0
}

# said PATTERN: stdout or stderr of the last try matches PATTERN (extended, any case).
# (grep reads both files itself: `cat | grep -q` fails under pipefail when grep stops early)
said() { grep -qiE -- "$1" "$OUT" "$ERR"; }

UNREADABLE='unreadable|corrupt|damaged|cannot be read|cannot read'
msg() { head -c 300 "$ERR" | tr '\n' '|'; }

# ---- (a) a garbled step record --------------------------------------------------------------
note "(a) garbled step record"
for mode in short tag bytes zlib hugestr deep; do
  CASE="step c2/b garbled ($mode)"
  restore
  garble steps "$(hexof c2)00$(hexof b)" "$mode"

  if try show-run c2; then
    said "(step|^|[^a-z])b([^a-z]|$).*($UNREADABLE)|($UNREADABLE).*([^a-z]|^)b([^a-z]|$)" ||
      problem "$CASE: show-run c2 does not name step b as unreadable (exit $RC; stderr: $(msg))"
    if ((RC == 0)); then
      grep -qE '^a +succeeded' "$OUT" && grep -qE '^c +succeeded' "$OUT" ||
        problem "$CASE: show-run c2 exits 0 but does not list steps a and c: $(grep -E '^[a-z] ' "$OUT" | tr '\n' '|')"
    fi
  fi
  if try show-run c2 -o json; then
    if ((RC == 0)); then
      jq -e '[.steps[].key] | index("a") != null and index("c") != null' "$OUT" >/dev/null 2>&1 ||
        problem "$CASE: show-run c2 -o json exits 0 but its steps are $(jq -c '[.steps[].key]' "$OUT" 2>/dev/null || echo 'not JSON')"
      said "$UNREADABLE" ||
        problem "$CASE: show-run c2 -o json exits 0 and says nothing about the unreadable step b"
    else
      said "$UNREADABLE" || problem "$CASE: show-run c2 -o json exits $RC without saying why: $(msg)"
    fi
  fi
  try show-run c2 --history || true
  try logs c2 || true
  if try list-runs -o ids; then
    ((RC == 0)) || problem "$CASE: list-runs exits $RC: $(msg)"
    [[ $(sort "$OUT" | tr '\n' ' ') == "c1 c2 c3 f1 " ]] ||
      problem "$CASE: list-runs lists $(tr '\n' ' ' <"$OUT")"
  fi
  if try show-run c1 -o json; then
    ((RC == 0)) && jq -e '[.steps[] | select(.status == "succeeded")] | length == 3' "$OUT" >/dev/null ||
      problem "$CASE: show-run c1 (untouched) exits $RC: $(msg)"
  fi
done

# A garbled record of a succeeded step in a failed run, then resume: no crash, and the
# run's step records are all readable afterwards (the step re-executed, or refused with a
# message naming it).
for mode in short zlib deep; do
  CASE="step f1/first garbled ($mode), resume"
  restore
  garble steps "$(hexof f1)00$(hexof first)" "$mode"
  if try resume f1; then
    if ((RC == 1)); then
      if try show-run f1 -o json; then
        ((RC == 0)) && jq -e '[.steps[] | select(.key == "first" and .status == "succeeded")] | length == 1' "$OUT" >/dev/null ||
          problem "$CASE: after the resume show-run f1 exits $RC, steps $(jq -c '[.steps[] | [.key, .status]]' "$OUT" 2>/dev/null)"
      fi
      [[ $(lines "$log") -ge 1 ]] && grep -qx first "$log" ||
        problem "$CASE: resume says it ran but step first (unreadable) was neither executed nor reported"
    else
      said "first" && said "$UNREADABLE" ||
        problem "$CASE: resume f1 exits $RC without naming the unreadable step: $(msg)"
    fi
  fi
done

# ---- (b) a garbled run record ---------------------------------------------------------------
note "(b) garbled run record"
for mode in short tag bytes zlib; do
  CASE="run c2 garbled ($mode)"
  restore
  garble runs "$(hexof c2)" "$mode"
  codes=
  for fmt in table ids json; do
    try list-runs -o "$fmt" || continue
    codes+="$fmt=$RC "
    for id in c1 c3 f1; do
      grep -qw "$id" "$OUT" || problem "$CASE: list-runs -o $fmt does not list $id (exit $RC)"
    done
    grep -q 'c2' "$ERR" && grep -qiE "$UNREADABLE" "$ERR" ||
      problem "$CASE: list-runs -o $fmt does not name c2 as unreadable on stderr: $(msg)"
    if [[ $fmt == json ]]; then
      jq -e 'type == "array" and length == 3' "$OUT" >/dev/null 2>&1 ||
        problem "$CASE: list-runs -o json is not an array of the 3 readable runs"
    fi
  done
  [[ $(awk '{ for (i = 1; i <= NF; i++) { split($i, a, "="); print a[2] } }' <<<"$codes" | sort -u | wc -l) == 1 ]] ||
    problem "$CASE: list-runs exit codes differ between formats: $codes"
  if try show-run c2; then
    ((RC == 5)) && said 'c2' && said "$UNREADABLE" ||
      problem "$CASE: show-run c2 exits $RC (want 5, naming it unreadable): $(msg)"
  fi
  for cmd in logs cancel-run resume; do
    if try "$cmd" c2; then
      ((RC != 0)) && said "$UNREADABLE" && ! said 'no run c2' ||
        problem "$CASE: $cmd c2 exits $RC: $(msg)"
    fi
  done
  if try resume --all; then
    ((RC == 0)) || problem "$CASE: resume --all exits $RC: $(msg)"
  fi
  if try start "$DEFS/three.json" -p log="$log" --run-id c4; then
    ((RC == 0)) || problem "$CASE: a new run cannot be started (exit $RC): $(msg)"
  fi
  if try show-run c3 -o json; then
    ((RC == 0)) && jq -e '.status == "succeeded"' "$OUT" >/dev/null ||
      problem "$CASE: show-run c3 (untouched) exits $RC: $(msg)"
  fi
done

# ---- (c), (d) a damaged data.mdb ---------------------------------------------------------------
# every_command_fails WHAT: each command exits 5 with a message about the store.
every_command_fails() {
  local c
  local -a cmds=("list-runs" "list-runs -o json" "show-run c1" "resume c1" "resume --all"
    "cancel-run c1" "logs c1")
  for c in "${cmds[@]}"; do
    # shellcheck disable=SC2086
    if try $c; then
      ((RC == 5)) && grep -qi 'store' "$ERR" ||
        problem "$CASE: wf $c exits $RC (want 5 and a store error): $(msg)"
    fi
  done
  if try start "$DEFS/three.json" -p log="$log" --run-id c9; then
    ((RC == 5)) && grep -qi 'store' "$ERR" ||
      problem "$CASE: wf start exits $RC (want 5 and a store error): $(msg)"
    [[ ! -s $log ]] || problem "$CASE: wf start executed steps on a damaged store"
  fi
}

note "(c) truncated data.mdb"
size=$(stat -c %s "$PRISTINE/store/data.mdb")
CASE="data.mdb cut to half ($((size / 2)) of $size bytes)"
restore
truncate -s $((size / 2)) "$STORE/data.mdb"
every_command_fails
CASE="data.mdb cut to one page"
restore
truncate -s 4096 "$STORE/data.mdb"
every_command_fails

note "(d) random data.mdb"
CASE="data.mdb of random bytes"
restore
head -c "$size" /dev/urandom >"$STORE/data.mdb"
every_command_fails

CASE="lock.mdb of random bytes"
restore
head -c "$(stat -c %s "$PRISTINE/store/lock.mdb")" /dev/urandom >"$STORE/lock.mdb"
if try list-runs -o ids; then
  ((RC == 0)) && [[ $(sort "$OUT" | tr '\n' ' ') == "c1 c2 c3 f1 " ]] ||
    problem "$CASE: list-runs exits $RC listing $(tr '\n' ' ' <"$OUT"): $(msg)"
fi
if try start "$DEFS/three.json" -p log="$log" --run-id c5; then
  ((RC == 0)) || problem "$CASE: start exits $RC: $(msg)"
fi

if ((${#PROBLEMS[@]})); then
  echo "---- $TEST_NAME: ${#PROBLEMS[@]} problems ----" >&2
  printf '%s\n' "${PROBLEMS[@]}" >&2
  fail "${#PROBLEMS[@]} problems with a damaged store (listed above)"
fi
note "corrupt store ok"
