# Live progress. On a terminal, start shows one line redrawn as the run goes: the time
# since it began, the running fan-out's steps done out of its total, how many are in
# flight, an estimate of the time left, and the longest-running steps once a step is slow.
# `show-run ID --watch` follows a run that another process executes, the same way, until
# it ends. The resume hint comes after the "run … failed" line, last.
source "$(dirname "$0")/lib.sh" "$@"

gate=$SCRATCH/gate

# ---- the resume hint is the last line ------------------------------------------------------
rc=0
"$WF" start "$DEFS/fanfail.json" --run-id f1 </dev/null >"$OUT" 2>&1 || rc=$?
assert_eq "$rc" 1 "exit code of a failed run"
assert_eq "$(tail -n 2 "$OUT" | head -n 1 | sed 's/ in .*//')" "run f1 failed" "the line before last"
assert_eq "$(tail -n 1 "$OUT")" "wf: resume it with: wf resume f1  (details: wf show-run f1)" "the last line"

command -v script >/dev/null || skip "no script(1) to give wf a terminal"

# on_tty FILE ARGS...: run `wf ARGS...` on a terminal (script(1)) in the background, what
# it shows in FILE with carriage returns as newlines readable by has_text; pid in $BG.
on_tty() {
  local f=$1
  shift
  env --default-signal=INT script -qfec "$(printf '%q ' "$WF" "$@")" "$f.raw" </dev/null >/dev/null 2>&1 &
  BG=$!
  BG_PIDS+=("$BG")
}
# tty_lines FILE: what the terminal showed, a line per redraw, without erase-line codes.
tty_lines() { tr '\r' '\n' <"$1.raw" | sed 's/\x1b\[K//g'; }
# has_text FILE PATTERN: what the terminal showed has a line matching the ERE PATTERN.
has_text() { [[ -f $1.raw ]] && tty_lines "$1" | grep -qE -- "$2"; }

# ---- start on a terminal -------------------------------------------------------------------
touch "$gate"
on_tty "$SCRATCH/start" start "$DEFS/live.json" --run-id l1 -p gate="$gate"
tty_pid=$BG
# Items 1-5 take 0.3 s each, two at a time, item 6 waits on the gate: the line gives the
# total and an estimate of what is left while the quick ones run...
wait_for 20 has_text "$SCRATCH/start" '^… [0-9.]+s · work [0-9]/6 \([12] running, ~[0-9.]+s left\)'
# ...then, item 6 slow, its name and how long it has run.
wait_for 20 has_text "$SCRATCH/start" '^… [0-9.]+s · work 5/6 \(1 running\) · longest: work/6 [0-9.]+s$'
rm "$gate"
wait_exit "$tty_pid" 20
assert_eq "$RC" 0 "exit code of start on a terminal"
tty_lines "$SCRATCH/start" >"$OUT"
grep -qE '^✓ work [0-9.]+s \(6 steps\)$' "$OUT" || { show_captured; fail "no line for the end of work"; }
grep -qE '^run l1 succeeded in ' "$OUT" || { show_captured; fail "no outcome line"; }
# The elapsed time grows.
first=$(grep -oE '^… [0-9.]+s' "$OUT" | head -n 1 | tr -dc '0-9.')
last=$(grep -oE '^… [0-9.]+s' "$OUT" | tail -n 1 | tr -dc '0-9.')
less_than "$first" "$last" || fail "the elapsed time does not grow: $first then $last"

# ---- watch a run another process executes, without a terminal ----------------------------
touch "$gate"
start_bg "$SCRATCH/owner.out" start "$DEFS/live.json" --run-id l2 -p gate="$gate" -p hold=5,6 -p bad=6
owner=$BG
# shows ID FILTER: show-run ID -o json passes the jq test FILTER.
shows() { "$WF" show-run "$1" -o json </dev/null 2>/dev/null | jq -e "$2" >/dev/null 2>&1; }
wait_for 20 shows l2 '.stages[1].done == 4 and .stages[1].running == 2'
"$WF" show-run l2 --watch </dev/null >"$SCRATCH/watch.out" 2>"$SCRATCH/watch.err" &
watcher=$!
BG_PIDS+=("$watcher")
wait_for 10 grep -q '^watching run l2 (workflow live), executed by pid ' "$SCRATCH/watch.out"
sleep 0.5
pid_alive "$watcher" || { cat "$SCRATCH/watch.out" "$SCRATCH/watch.err" >&2; fail "watch ended while the run runs"; }
rm "$gate"
wait_exit "$watcher" 20
assert_eq "$RC" 0 "exit code of show-run --watch of a failed run"
wait_exit "$owner" 20
cp "$SCRATCH/watch.out" "$OUT"
cp "$SCRATCH/watch.err" "$ERR"
assert_contains "$OUT" "stage list succeeded in"
assert_contains "$OUT" "step work/6 failed (attempt 1): exited with code 7"
# under it, as start shows it, what the step wrote to stderr
assert_eq "$(grep -A1 '^step work/6 failed' "$OUT" | tail -n 1)" "    boom in item 6" "the line under the failure"
grep -qE '^stage work failed in [0-9.]+s \(6 steps\)$' "$OUT" || { show_captured; fail "no line for the end of work"; }
grep -qE '^run l2 failed in ' "$OUT" || { show_captured; fail "no outcome line"; }
assert_contains "$ERR" "wf: resume it with: wf resume l2"
assert_not_contains "$OUT" "…"   # no live line without a terminal

# ---- watch on a terminal -------------------------------------------------------------------
touch "$gate"
start_bg "$SCRATCH/owner2.out" start "$DEFS/live.json" --run-id l3 -p gate="$gate"
owner=$BG
wait_for 20 shows l3 '.stages[1].status == "running"'
on_tty "$SCRATCH/watch" show-run l3 --watch
tty_pid=$BG
wait_for 20 has_text "$SCRATCH/watch" '^… [0-9.]+s · work 5/6 \(1 running\) · longest: work/6 [0-9.]+s$'
rm "$gate"
wait_exit "$tty_pid" 20
assert_eq "$RC" 0 "exit code of show-run --watch on a terminal"
tty_lines "$SCRATCH/watch" >"$OUT"
grep -qE '^✓ work [0-9.]+s \(6 steps\)$' "$OUT" || { show_captured; fail "no line for the end of work"; }
grep -qE '^run l3 succeeded in ' "$OUT" || { show_captured; fail "no outcome line"; }
wait_exit "$owner" 20

# ---- a run that has ended: its stages and outcome at once ------------------------------
ok wf show-run l3 --watch
assert_contains "$OUT" "stage sum succeeded"
grep -qE '^run l3 succeeded in ' "$OUT" || { show_captured; fail "no outcome line for an ended run"; }
expect_exit 2 wf show-run l3 --watch -o json
assert_contains "$ERR" "--watch"
