# wf logs stops when what reads its output goes away (wf ignores SIGPIPE): with --follow
# at once, not when the run ends; and exits 0, with nothing on stderr.
source "$(dirname "$0")/lib.sh" "$@"

gate=$SCRATCH/gate
cat >"$SCRATCH/talk.json" <<'JSON'
{ "name": "talk", "version": 1, "description": "a step that writes lines, then waits for a gate",
  "params": { "gate": { "type": "string", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 }, "timeout_s": 120 },
  "stages": [
    { "id": "talk", "run": ["sh", "-c", "for i in 1 2 3; do echo talk-$i >&2; done; while [ -e \"$1\" ]; do sleep 0.05; done; echo 1", "sh", "${params.gate}"] } ] }
JSON
touch "$gate"
start_bg "$SCRATCH/owner.out" start "$SCRATCH/talk.json" -p gate="$gate" --run-id P
owner=$BG
wait_for 20 grep -qs talk-3 "$WF_HOME/logs/P/talk.log"

# follow_head: `wf logs P --follow | head -1`; its time in TOOK, wf's exit code in WFRC.
follow_head() {
  local t0
  t0=$(now)
  timeout -k 2 20 bash -c '"$1" logs P --follow 2>"$2" | head -1 >"$3"; exit "${PIPESTATUS[0]}"' \
    sh "$WF" "$ERR" "$OUT" </dev/null && WFRC=0 || WFRC=$?
  TOOK=$(elapsed "$t0")
}
follow_head
pid_alive "$owner" || fail "the run ended before the check"
less_than "$TOOK" 5 || fail "wf logs --follow | head -1 ran ${TOOK}s while the run went on (exit $WFRC)"
assert_eq "$WFRC" 0 "exit code of wf logs --follow whose reader went away"
assert_eq "$(cat "$OUT")" "==> talk <==" "what head -1 got"
[[ ! -s $ERR ]] || { show_captured; fail "wf logs --follow wrote to stderr when its reader went away"; }

# The same when the reader goes away while nothing is being written.
t0=$(now)
timeout -k 2 20 bash -c '("$1" logs P --follow 2>"$2"; echo "$?" >"$3.rc") | (read -r line; echo "$line" >"$3")' \
  sh "$WF" "$ERR" "$OUT" </dev/null || true
took=$(elapsed "$t0")
less_than "$took" 5 || fail "wf logs --follow went on ${took}s after its reader went away"
assert_eq "$(cat "$OUT.rc")" 0 "exit code of wf logs --follow whose reader went away while idle"

rm -f "$gate"
wait_exit "$owner" 20
assert_eq "$RC" 0 "exit code of the run"

# Without --follow, a long log into a reader that stops early: it stops, exit 0.
cat >"$SCRATCH/long.json" <<'JSON'
{ "name": "long", "version": 1, "description": "a step that writes 200000 lines",
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [ { "id": "long", "run": ["sh", "-c", "seq 1 200000 >&2; echo 1"] } ] }
JSON
ok wf start "$SCRATCH/long.json" --run-id L
timeout -k 2 20 bash -c '"$1" logs L 2>"$2" | head -2 >"$3"; exit "${PIPESTATUS[0]}"' \
  sh "$WF" "$ERR" "$OUT" </dev/null && rc=0 || rc=$?
assert_eq "$rc" 0 "exit code of wf logs | head -2"
[[ ! -s $ERR ]] || { show_captured; fail "wf logs wrote to stderr when its reader went away"; }

# A write error other than a broken pipe is an error that says so.
if [[ -w /dev/full ]]; then
  "$WF" logs L </dev/null >/dev/full 2>"$ERR" && rc=0 || rc=$?
  : >"$OUT"
  assert_eq "$rc" 1 "exit code of wf logs >/dev/full"
  assert_contains "$ERR" "cannot write"
  assert_contains "$ERR" "No space left on device"
fi

note "logs into a closed pipe ok"
