# The history is complete: every attempt has a step_started event (at its start time,
# before its end), a step killed when its run is stopped by a signal has a
# step_interrupted event, and run_resumed says by whom and what the run was.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate

# events ID: the run's history as JSON lines.
events() {
  ok wf show-run "$1" --history -o json
  jq -c '.events[]' "$OUT" >"$SCRATCH/events"
}

# has_event FILTER [ARGS...]: some event of the last `events` passes the jq FILTER.
has_event() {
  jq -s -e "${@:2}" "any(.[]; $1)" "$SCRATCH/events" >/dev/null
}

note "every attempt starts and ends, in that order"
ok wf start "$DEFS/retry.json" -p counter="$SCRATCH/counter" -p fails=2 --run-id h1
events h1
assert_eq "$(jq -s '[.[] | select(.type == "step_started" and .step == "flaky")] | length' "$SCRATCH/events")" 3 \
  "step_started events of a step that took three attempts"
assert_eq "$(jq -s '[.[] | select(.step == "flaky") | "\(.type)#\(.attempt)"] | join(" ")' -r "$SCRATCH/events")" \
  "step_started#1 step_failed#1 step_retry#1 step_started#2 step_failed#2 step_retry#2 step_started#3 step_succeeded#3" \
  "the attempts of flaky, in history order"
# A start is at the attempt's start time: no later than its end, and the record's.
jq -s -e '[.[] | select(.step == "flaky")] as $e
  | [range(0; $e | length) | select($e[.].type == "step_started")
     | ($e[.].time <= $e[. + 1].time)] | all' "$SCRATCH/events" >/dev/null ||
  fail "a step_started event is later than the end of its attempt"
started=$(jq -r 'select(.type == "step_started" and .attempt == 3) | .time' "$SCRATCH/events")
assert_eq "$started" "$(step_field h1 flaky started_at)" "time of the last start event"
ok wf show-run h1 --history
grep -Eq '^[0-9]+ +[0-9T:.-]+Z +step_started +flaky +#1' "$OUT" || { show_captured; fail "no step_started row in the table"; }

note "a fan-out: one start per item, every start before its end"
expect_exit 4 wf start "$DEFS/fanfail.json" --run-id h3 --continue-on-error
events h3
for k in 1 2 3 4; do
  assert_eq "$(jq -r --arg k "work/$k" 'select(.step == $k) | .type' "$SCRATCH/events" | head -1)" step_started \
    "first event of work/$k"
done

note "Ctrl-C: the steps killed get step_interrupted; the resume says by whom and why"
touch "$gate"
start_bg "$SCRATCH/owner.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id h4
owner=$BG
wait_for 20 has_lines "$log" 4
kill -INT "$owner"
wait_exit "$owner" 5
assert_eq "$RC" 130 "exit code after SIGINT"
events h4
for k in 0 1 2 3; do
  has_event '.step == $k and .type == "step_interrupted" and .attempt == 1
    and (.detail | contains("SIGINT")) and (.detail | contains("resume"))' --arg k "work/$k" ||
    { cat "$SCRATCH/events" >&2; fail "no step_interrupted event for work/$k"; }
  has_event '.step == $k and .type == "step_started"' --arg k "work/$k" ||
    fail "no step_started event for the interrupted work/$k"
done
has_event '.type == "run_interrupted" and (.detail | contains("SIGINT"))' ||
  fail "no run_interrupted event naming SIGINT"

rm -f "$gate"
ok wf resume h4
events h4
detail=$(jq -r 'select(.type == "run_resumed") | .detail' "$SCRATCH/events")
[[ $detail == "by pid "*" on $(hostname) (resume); it was interrupted (interrupted by SIGINT)" ]] ||
  fail "run_resumed detail: '$detail'"

note "a crashed owner: the resume names it"
touch "$gate"
: >"$log"
start_bg "$SCRATCH/owner2.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id h5
owner=$BG
wait_for 20 has_lines "$log" 4
crash "$owner"
rm -f "$gate"
ok wf resume h5
events h5
detail=$(jq -r 'select(.type == "run_resumed") | .detail' "$SCRATCH/events")
[[ $detail == *"(resume); it was interrupted: its owner, pid $owner on "*", is gone" ]] ||
  fail "run_resumed detail after a crash: '$detail'"

note "a failed run resumed, and a restart"
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id h6
expect_exit 1 wf resume h6
events h6
detail=$(jq -r 'select(.type == "run_resumed") | .detail' "$SCRATCH/events")
[[ $detail == *"(resume); it was failed (step bad failed: "* ]] || fail "run_resumed detail of a failed run: '$detail'"
ok wf start "$DEFS/three.json" -p log="$log" --run-id h7
ok wf start "$DEFS/three.json" --run-id h7 --start-from b
events h7
detail=$(jq -r 'select(.type == "run_resumed") | .detail' "$SCRATCH/events")
[[ $detail == *"(start --start-from); it was succeeded" ]] || fail "run_resumed detail of a restart: '$detail'"

note "history ok"
