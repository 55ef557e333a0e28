# Data passing and interpolation: ${params.x}, ${stages.s.output.f}, ${item.f}, ${run.id};
# the step's stdin and environment; a fan-out stage's output is a map item key -> output.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
ok wf start "$DEFS/interp.json" -p log="$log" --run-id I
run_json I
j=$SCRATCH/run.json
run_dir=$(json_get "$j" .run_dir)

# The two fan-out steps saw their item, params, run id and an upstream output in argv.
grep -q "^ARGS=$log id=1 t=x name=world run=I greeting=hi$" "$log" || { cat "$log" >&2; fail "arguments of each/x-1"; }
grep -q "^ARGS=$log id=2 t=y name=world run=I greeting=hi$" "$log" || { cat "$log" >&2; fail "arguments of each/y-2"; }
# ... and the documented environment.
for k in x-1 y-2; do
  assert_contains "$log" "WF_STEP_KEY=each/$k"
  assert_contains "$log" "WF_IDEMPOTENCY_KEY=I/each/$k"
done
assert_contains "$log" "WF_RUN_ID=I"
assert_contains "$log" "WF_ATTEMPT=1"
assert_contains "$log" "WF_RUN_DIR=$run_dir"
# ... and JSON on stdin: run_id, step_key, attempt, params, inputs, item.
sed -n 's/^STDIN=//p' "$log" >"$SCRATCH/stdin.jsonl"
assert_eq "$(lines "$SCRATCH/stdin.jsonl")" 2 "stdin documents"
jq -s -e --arg log "$log" '
  (map(.run_id) | unique) == ["I"] and
  (map(.step_key) | sort) == ["each/x-1", "each/y-2"] and
  (map(.attempt) | unique) == [1] and
  (map(.params.log) | unique) == [$log] and
  (map(.params.name) | unique) == ["world"] and
  (map(.item) | sort_by(.id)) == [{"id":1,"t":"x"},{"id":2,"t":"y"}]' "$SCRATCH/stdin.jsonl" >/dev/null ||
  { cat "$SCRATCH/stdin.jsonl" >&2; fail "the JSON the steps got on stdin"; }
# A fan-out step's inputs hold the outputs of the stages its stage needs, except the one its
# foreach reads (it gets its item instead).
jq -s . "$SCRATCH/stdin.jsonl" >"$SCRATCH/stdin.json"
assert_json "$SCRATCH/stdin.json" 'map(.inputs) | unique == [{"cfg": {"mode": "fast"}}]'

# Recorded outputs: the fan-out's output reaches "sum" as a map keyed by item key.
assert_json "$j" '.status == "succeeded"'
assert_json "$j" '.steps[] | select(.key == "gen") | .output.greeting == "hi"'
assert_json "$j" '.steps[] | select(.key == "each/x-1") | .output == {"ok":true} and .stage == "each"'
assert_json "$j" '.steps[] | select(.key == "sum") | .output.each == {"x-1":{"ok":true},"y-2":{"ok":true}}'
assert_json "$j" '.steps[] | select(.key == "sum") | .output.item == null'
assert_json "$j" ".steps[] | select(.key == \"sum\") | .output.params.log == \"$log\""
# "shell" runs through sh.
assert_json "$j" '.steps[] | select(.key == "sh") | .output == 42'
assert_json "$j" '.params == {"log": "'"$log"'", "name": "world"}'

# A parameter given on the command line wins over its default.
: >"$log"
ok wf start "$DEFS/interp.json" -p log="$log" -p name=you --run-id I2
assert_contains "$log" "name=you run=I2"

# A step printing something that is not JSON fails with a message saying so.
cat >"$SCRATCH/notjson.json" <<'JSON'
{ "name": "notjson", "version": 1, "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [ { "id": "s", "run": ["echo", "this is not json"] } ] }
JSON
expect_exit 1 wf start "$SCRATCH/notjson.json" --run-id NJ
run_json NJ
assert_json "$SCRATCH/run.json" '.steps[0].status == "failed" and (.steps[0].error | test("JSON"; "i"))'

# An empty stdout is a null output.
cat >"$SCRATCH/empty.json" <<'JSON'
{ "name": "empty", "version": 1, "stages": [ { "id": "s", "run": ["true"] } ] }
JSON
ok wf start "$SCRATCH/empty.json" --run-id E
run_json E
assert_json "$SCRATCH/run.json" '.steps[0].status == "succeeded" and .steps[0].output == null'

# A foreach over an empty list: the stage succeeds with no items; its own row in show-run
# is a stage row, not a step, and counts leave it out.
cat >"$SCRATCH/nothing.json" <<'JSON'
{ "name": "nothing", "version": 1,
  "stages": [ { "id": "l", "run": ["echo", "[]"] },
              { "id": "w", "needs": ["l"], "foreach": "${stages.l.output}", "key": "${item}", "run": ["true"] } ] }
JSON
ok wf start "$SCRATCH/nothing.json" --run-id NO
run_json NO
assert_json "$SCRATCH/run.json" '.status == "succeeded" and .counts.succeeded == 1'
assert_json "$SCRATCH/run.json" '[.steps[] | "\(.key) \(.kind)"] == ["l step", "w stage"]'

# A foreach over something that is not an array fails the run with a clear message.
cat >"$SCRATCH/notarray.json" <<'JSON'
{ "name": "notarray", "version": 1, "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [ { "id": "l", "run": ["echo", "{\"a\":1}"] },
              { "id": "w", "needs": ["l"], "foreach": "${stages.l.output}", "key": "${item}", "run": ["true"] } ] }
JSON
expect_exit 1 wf start "$SCRATCH/notarray.json" --run-id NA
cat "$OUT" "$ERR" >"$SCRATCH/both"
assert_icontains "$SCRATCH/both" "array"

note "interpolation ok"
