# wf logs shows what steps wrote to stderr, per run or per step, and --follow ends with the run.
source "$(dirname "$0")/lib.sh" "$@"

ok wf start "$DEFS/logs.json" --run-id L
ok wf logs L
assert_contains "$OUT" "marker-talk-stderr"
assert_contains "$OUT" "marker-other-stderr"
ok wf logs L --step talk
assert_contains "$OUT" "marker-talk-stderr"
assert_not_contains "$OUT" "marker-other-stderr"
ok wf logs --step other L
assert_contains "$OUT" "marker-other-stderr"
assert_not_contains "$OUT" "marker-talk-stderr"
expect_exit 3 wf logs L --step nosuch

# stdout is the step's output, not its log.
run_json L
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "talk") | .output == 1'

# --follow on a finished run prints and ends.
CMD_TIMEOUT=10 ok wf logs L --follow
assert_contains "$OUT" "marker-talk-stderr"

# --follow on a live run ends when the run does.
log=$SCRATCH/log
gate=$SCRATCH/gate
touch "$gate"
start_bg "$SCRATCH/owner.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id G
owner=$BG
wait_for 20 has_lines "$log" 4
start_bg "$SCRATCH/follow.out" logs G --follow
follower=$BG
sleep 0.5
pid_alive "$follower" || fail "wf logs --follow ended while the run was still running"
rm -f "$gate"
wait_exit "$owner" 20
assert_eq "$RC" 0 "exit code of the followed run"
wait_exit "$follower" 5
assert_eq "$RC" 0 "exit code of wf logs --follow"


# A detached run writes its own output (progress, messages) to a log of its own, which no
# step's log can be: not even that of a stage named "wf", which was logs/<id>/wf.log.
cat >"$SCRATCH/wfstage.json" <<'JSON'
{ "name": "wfstage", "version": 1, "description": "a stage named wf that writes to stderr",
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [ { "id": "wf", "run": ["sh", "-c", "echo marker-wf-stage >&2; echo 1"] } ] }
JSON
ok wf start "$SCRATCH/wfstage.json" --run-id D --detach
assert_eq "$(cat "$OUT")" D "what start --detach prints"
wait_status D succeeded 20
wait_for 10 grep -q "run D succeeded" "$WF_HOME/logs/D/.wf.log"
assert_contains "$WF_HOME/logs/D/.wf.log" "run D started"
assert_not_contains "$WF_HOME/logs/D/.wf.log" "marker-wf-stage"
assert_contains "$WF_HOME/logs/D/wf.log" "marker-wf-stage"
assert_not_contains "$WF_HOME/logs/D/wf.log" "run D"
ok wf logs D
assert_contains "$OUT" "==> wf <=="
assert_contains "$OUT" "marker-wf-stage"
# The run's own output is a section of its own, before the steps'.
assert_eq "$(head -1 "$OUT")" "==> run D <==" "the first line of wf logs D"
assert_eq "$(sed -n '/^==> wf <==$/,$p' "$OUT" | grep -c "^run D")" 0 "lines of the run's own output in the log of step wf"
ok wf logs D --step wf
assert_contains "$OUT" "marker-wf-stage"
assert_not_contains "$OUT" "run D"

note "logs ok"
