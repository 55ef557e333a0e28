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

note "logs ok"
