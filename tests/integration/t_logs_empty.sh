# wf logs of a run whose steps wrote nothing to stderr says so (on stderr; exit 0), and a
# detached run's own output (logs/<id>/.wf.log) is shown as the run's own section.
source "$(dirname "$0")/lib.sh" "$@"

cat >"$SCRATCH/silent.json" <<'JSON'
{ "name": "silent", "version": 1, "description": "steps that write nothing to stderr; the last fails",
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [ { "id": "quiet", "run": ["echo", "1"] },
              { "id": "bad", "needs": ["quiet"], "run": ["false"] } ] }
JSON

# Not detached: no step wrote anything and the run has no log of its own.
expect_exit 1 wf start "$SCRATCH/silent.json" --run-id S
ok wf logs S
[[ ! -s $OUT ]] || { show_captured; fail "wf logs S printed something for a run without logs"; }
assert_contains "$ERR" "no step of run S wrote to stderr"
assert_contains "$ERR" "logs/S/.wf.log"
assert_contains "$ERR" "wf show-run S"
ok wf logs S --follow
assert_contains "$ERR" "no step of run S wrote to stderr"
# A step that exists but wrote nothing: said, exit 0; a step that does not exist: exit 3.
ok wf logs S --step bad
assert_contains "$ERR" "step bad of run S wrote nothing to stderr"
expect_exit 3 wf logs S --step nosuch
assert_contains "$ERR" "nosuch"

# Detached: the run's own output (its progress and messages) is its own section, first.
ok wf start "$SCRATCH/silent.json" --run-id D --detach
wait_status D failed 20
wait_for 10 grep -qs "run D failed" "$WF_HOME/logs/D/.wf.log"
ok wf logs D
assert_eq "$(head -1 "$OUT")" "==> run D <==" "the first line of wf logs D"
assert_contains "$OUT" "run D started (workflow silent)"
assert_contains "$OUT" "step bad failed"
assert_contains "$OUT" "run D failed"
assert_contains "$ERR" "no step of run D wrote to stderr"
assert_contains "$ERR" "above"
# --step shows steps only.
ok wf logs D --step bad
assert_not_contains "$OUT" "run D"

# --follow of a detached run prints its own output to its last line.
gate=$SCRATCH/gate
cat >"$SCRATCH/gated.json" <<'JSON'
{ "name": "gated", "version": 1, "description": "a silent step that waits for a gate",
  "params": { "gate": { "type": "string", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 }, "timeout_s": 60 },
  "stages": [ { "id": "wait", "run": ["sh", "-c", "while [ -e \"$1\" ]; do sleep 0.05; done; echo 1", "sh", "${params.gate}"] } ] }
JSON
touch "$gate"
ok wf start "$SCRATCH/gated.json" -p gate="$gate" --run-id G --detach
wait_status G running 20
start_bg "$SCRATCH/follow.out" logs G --follow
follower=$BG
sleep 0.5
rm -f "$gate"
wait_exit "$follower" 20
assert_eq "$RC" 0 "exit code of wf logs G --follow"
grep -q '^==> run G <==$' "$SCRATCH/follow.out" || fail "wf logs G --follow has no section of the run's own: $(cat "$SCRATCH/follow.out")"
grep -q '^run G succeeded in ' "$SCRATCH/follow.out" || fail "wf logs G --follow misses the run's last line: $(cat "$SCRATCH/follow.out")"

# The docs say where a detached run's output goes.
assert_contains "$TESTS/../README.md" "logs/<id>/.wf.log"
grep -q '\.wf\.log' "$TESTS/../docs/design.md" || fail "docs/design.md does not mention .wf.log"

note "logs of silent runs ok"
