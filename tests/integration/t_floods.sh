# Steps that misbehave with their output or their lifetime.
#
#  - 1 GiB on stdout: the step fails at once with "output exceeds" (the 64 MiB cap), its
#    process group is killed, and wf's peak RSS stays near the cap, not near 1 GiB.
#  - 1 GiB on stderr: the step succeeds, its log is cut at 64 MiB with "[wf: log
#    truncated", the record keeps the last 4 KiB, and wf's peak RSS stays small.
#  - A step that never exits, timeout_s 2: failed "timed out" after 2 s, its group gone.
#  - A step (and its child) ignoring SIGTERM, timeout_s 1, WF_KILL_GRACE_S=1: SIGKILL
#    after the grace, so the run ends after about 2 s, everything gone.
#  - A grandchild that outlives its step: when the step times out it is killed with the
#    group; when the step exits 0 it is left running (wf waits 2 s for the pipe it holds,
#    then records the step).
#  - A step that closes stdout at once and runs on for 2 s: it succeeds with a null
#    output, recorded only after it exits.
source "$(dirname "$0")/lib.sh" "$@"

H=$TESTS/data/hostile
MiB=$((1 << 20))
CAP=$((64 * MiB))

# Peak RSS limits (KiB): the stdout buffer may grow to the cap; stderr is streamed. A
# sanitizer build has shadow memory and quarantine on top (x4); a run under a memory
# checker scales them by WF_TEST_RSS_FACTOR (tests/valgrind/run.sh sets it).
factor=${WF_TEST_RSS_FACTOR:-1}
[[ $factor =~ ^[1-9][0-9]*$ ]] || fail "WF_TEST_RSS_FACTOR must be a positive integer, not '$factor'"
if grep -qa '__asan_init' "$WF"; then factor=$((factor * 4)); fi
STDOUT_RSS_KB=$((96 * 1024 * factor))
STDERR_RSS_KB=$((24 * 1024 * factor))

# measure OUTFILE ARGS...: run `wf ARGS...`, stdout and stderr to OUTFILE, and take its
# peak RSS: from /usr/bin/time when there is one, else by polling VmHWM (a high-water
# mark, so the last value read before it exits is the peak so far). Leaves the exit code
# in RC, the peak in PEAK_KB (KiB) and the duration in TOOK.
measure() {
  local out=$1 pid hwm t0 i
  shift
  PEAK_KB=0
  t0=$(now)
  if [[ -x /usr/bin/time ]]; then
    RC=0
    timeout -k 5 110 /usr/bin/time -o "$SCRATCH/peak" -f '%M' "$WF" "$@" </dev/null >"$out" 2>&1 || RC=$?
    PEAK_KB=$(tail -n 1 "$SCRATCH/peak")
  else
    start_bg "$out" "$@"
    pid=$BG
    for ((i = 0; i < 110 * 50; i++)); do
      hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      [[ -n $hwm ]] && ((hwm > PEAK_KB)) && PEAK_KB=$hwm
      pid_alive "$pid" || break
      sleep 0.02
    done
    wait_exit "$pid" 5
  fi
  TOOK=$(elapsed "$t0")
}

# gone PID...: each process has exited (a zombie left to init counts as gone); waits up
# to 2 s for them.
gone() {
  local p i
  for p in "$@"; do
    for ((i = 0; i < 40; i++)); do pid_alive "$p" || break; sleep 0.05; done
    pid_alive "$p" && { kill -9 "$p" 2>/dev/null || true; fail "process $p is still running: $1"; }
  done
  return 0
}

# ---- 1 GiB on stdout ------------------------------------------------------------------------
measure "$SCRATCH/fo.out" start "$H/flood_stdout.json" --run-id fo -p pids="$SCRATCH/fo.pids"
((RC == 1)) || { cat "$SCRATCH/fo.out" >&2; fail "1 GiB stdout: wf exited $RC, want 1"; }
grep -q "output exceeds" "$SCRATCH/fo.out" || { cat "$SCRATCH/fo.out" >&2; fail "1 GiB stdout: no 'output exceeds'"; }
run_json fo
assert_json "$SCRATCH/run.json" '.status == "failed"'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "flood") | .status == "failed" and (.error | test("output exceeds"))'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "flood") | .output == null'
((PEAK_KB < STDOUT_RSS_KB)) || fail "1 GiB stdout: wf peak RSS ${PEAK_KB} KiB (limit ${STDOUT_RSS_KB})"
less_than "$TOOK" 30 || fail "1 GiB stdout: took ${TOOK}s; the step should be stopped at the cap"
pg=$(cat "$SCRATCH/fo.pids")
group_alive "$pg" && fail "1 GiB stdout: the step's process group $pg is still alive"
# Output over the cap is not retried, although the stage allows 3 attempts.
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "flood") | .attempt == 1'
note "1 GiB stdout: failed at the cap in ${TOOK}s, wf peak RSS $((PEAK_KB / 1024)) MiB"
FO_TOOK=$TOOK FO_PEAK=$PEAK_KB

# ---- 1 GiB on stderr ------------------------------------------------------------------------
measure "$SCRATCH/fe.out" start "$H/flood_stderr.json" --run-id fe
((RC == 0)) || { cat "$SCRATCH/fe.out" >&2; fail "1 GiB stderr: wf exited $RC, want 0"; }
run_json fe
assert_json "$SCRATCH/run.json" '.status == "succeeded"'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "flood") | .output == {"done": true}'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "flood") | (.stderr_tail | length) > 0 and (.stderr_tail | length) <= 4096'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "flood") | .stderr_tail | test("wf stderr flood line")'
logf=$WF_HOME/logs/fe/flood.log
[[ -f $logf ]] || fail "1 GiB stderr: no log at $logf"
lsize=$(stat -c %s "$logf")
((lsize >= CAP && lsize <= CAP + 4096)) || fail "1 GiB stderr: log is $lsize bytes, want the 64 MiB cap (+ header and marker)"
tail -c 200 "$logf" | grep -q '\[wf: log truncated' || fail "1 GiB stderr: the log does not end with '[wf: log truncated'"
((PEAK_KB < STDERR_RSS_KB)) || fail "1 GiB stderr: wf peak RSS ${PEAK_KB} KiB (limit ${STDERR_RSS_KB})"
# `wf logs` streams it.
"$WF" logs fe --step flood </dev/null 2>"$ERR" | tail -c 200 >"$OUT" || fail "wf logs fe --step flood failed: $(cat "$ERR")"
assert_contains "$OUT" "[wf: log truncated"
note "1 GiB stderr: succeeded in ${TOOK}s, log $((lsize / MiB)) MiB, wf peak RSS $((PEAK_KB / 1024)) MiB"
FE_TOOK=$TOOK FE_PEAK=$PEAK_KB
rm -f "$logf"

# ---- a step that never exits, timeout_s 2 -----------------------------------------------------
t0=$(now)
expect_exit 1 wf start "$H/hang.json" --run-id hang -p pids="$SCRATCH/hang.pids"
took=$(elapsed "$t0")
less_than 1.9 "$took" || fail "hang: the run ended after ${took}s, before the 2 s timeout"
less_than "$took" 4.5 || fail "hang: a step honouring SIGTERM with timeout_s 2 took ${took}s"
assert_eq "$(step_field hang hang status)" failed "hang: step status"
step_field hang hang error | grep -q "timed out" || fail "hang: error is '$(step_field hang hang error)'"
read -r sh bg <"$SCRATCH/hang.pids"
gone "$sh" "$bg"
group_alive "$sh" && fail "hang: process group $sh still has live processes"
note "never exits: timed out, group gone, run over in ${took}s"

# ---- ignores SIGTERM: SIGKILL after WF_KILL_GRACE_S -----------------------------------------
t0=$(now)
WF_KILL_GRACE_S=1 expect_exit 1 wf start "$H/ignore_term.json" --run-id stubborn -p pids="$SCRATCH/stub.pids"
took=$(elapsed "$t0")
# 1 s timeout + 1 s grace: not before, and well before the default 5 s grace would end.
less_than 1.9 "$took" || fail "ignore TERM: the run ended after ${took}s; SIGKILL came before the 1 s grace"
less_than "$took" 4.5 || fail "ignore TERM: took ${took}s with timeout_s 1 and WF_KILL_GRACE_S=1"
step_field stubborn stubborn error | grep -q "timed out" || fail "ignore TERM: error is '$(step_field stubborn stubborn error)'"
read -r sh bg <"$SCRATCH/stub.pids"
gone "$sh" "$bg"
group_alive "$sh" && fail "ignore TERM: process group $sh still has live processes"
note "ignores SIGTERM: killed after the grace, run over in ${took}s"

# ---- a grandchild outliving its step ------------------------------------------------------------
# Timed out: the grandchild is in the step's group and is killed with it.
expect_exit 1 wf start "$H/orphan_timeout.json" --run-id orphan-t -p pids="$SCRATCH/ot.pid"
orphan=$(cat "$SCRATCH/ot.pid")
gone "$orphan"
note "grandchild of a timed-out step: killed with the group"

# Exited 0: wf waits up to 2 s for the pipe the grandchild holds, records the step, and
# leaves the grandchild alone.
t0=$(now)
ok wf start "$H/orphan_ok.json" --run-id orphan-ok -p pids="$SCRATCH/ok.pid"
took=$(elapsed "$t0")
orphan=$(cat "$SCRATCH/ok.pid")
assert_eq "$(step_field orphan-ok leave status)" succeeded "orphan-ok: step status"
assert_eq "$(wf show-run orphan-ok -o json | jq -c '.steps[] | select(.key == "leave") | .output')" "{}" "orphan-ok: output"
less_than "$took" 10 || fail "orphan-ok: a step whose grandchild holds stdout kept the run for ${took}s"
if pid_alive "$orphan"; then
  kill -9 "$orphan" 2>/dev/null || true
  note "grandchild of a step that exited 0: left running (killed by the test); run took ${took}s"
else
  fail "orphan-ok: the grandchild of a successful step was killed; docs/reliability.md says it is left running"
fi

# ---- closes stdout early, exits 0 after 2 s -------------------------------------------------------
t0=$(now)
ok wf start "$H/close_stdout.json" --run-id quiet
took=$(elapsed "$t0")
less_than 1.9 "$took" || fail "close stdout: the step was recorded after ${took}s, before it exited"
run_json quiet
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "quiet") | .status == "succeeded" and .output == null'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "quiet") | .duration_s >= 1.9'
note "closed stdout: succeeded with null after ${took}s"

note "floods ok: stdout ${FO_TOOK}s/$((FO_PEAK / 1024)) MiB, stderr ${FE_TOOK}s/$((FE_PEAK / 1024)) MiB"
