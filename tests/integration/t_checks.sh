# Stage checks: "check" (a command given the output on stdin and WF_RUN_DIR, whose
# non-zero exit fails the stage with its stderr as the reason) and "expect" (min_items,
# required fields). A refused output fails the attempt like a failed step: retries
# apply, the history records why, --dry-run lists the checks, bad ones are refused.
source "$(dirname "$0")/lib.sh" "$@"

count=$SCRATCH/count
def=$SCRATCH/checked.json
# The step prints [] on its first attempt and two rows from the second on (a source that
# is not ready yet); the check wants at least two rows and says so on stderr.
cat >"$def" <<EOF
{ "name": "checks", "version": 1,
  "params": { "attempts": { "type": "int", "default": 2 } },
  "stages": [
    { "id": "rows",
      "retry": { "max_attempts": \${ATTEMPTS}, "initial_interval_s": 0 },
      "run": ["sh", "-c", "echo x >>\"\$0\"; if [ \$(wc -l <\"\$0\") -lt 2 ]; then echo '[]'; else echo '[{\"id\": 1}, {\"id\": 2}]'; fi", "$count"],
      "check": ["sh", "-c", "touch \"\$WF_RUN_DIR/checked-by-\$WF_STEP_KEY\"; n=\$(jq length); [ \"\$n\" -ge 2 ] || { echo \"only \$n rows; want 2\" >&2; exit 1; }"],
      "expect": { "required": ["id"] } },
    { "id": "per_row", "needs": ["rows"], "foreach": "\${stages.rows.output}", "key": "\${item.id}",
      "run": ["sh", "-c", "echo '{\"row\": 1}'"],
      "check": ["jq", "-e", ".row == 1"] }
  ] }
EOF
sed -i 's/${ATTEMPTS}/2/' "$def"

note "a check that refuses the first attempt's output: the retry runs, the run succeeds"
ok wf start "$def" --run-id c1
assert_eq "$(lines "$count")" 2 "executions of the checked step"
run_json c1 --history
assert_json "$SCRATCH/run.json" '.status == "succeeded"'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "rows") | .attempt == 2 and (.output | length) == 2'
# the refusal is in the history, with the check's stderr as the reason
assert_json "$SCRATCH/run.json" '[.events[] | select(.type == "step_failed" and .step == "rows")] | length == 1'
assert_json "$SCRATCH/run.json" '.events[] | select(.type == "step_failed") | .detail | contains("refused the output") and contains("only 0 rows; want 2")'
rundir=$(json_get "$SCRATCH/run.json" .run_dir)
[[ -f $rundir/checked-by-rows ]] || fail "the check did not get WF_RUN_DIR"

note "a check that refuses every attempt fails the stage with its stderr as the reason"
: >"$count"
sed 's/"max_attempts": 2/"max_attempts": 1/' "$def" >"$SCRATCH/once.json"
expect_exit 1 wf start "$SCRATCH/once.json" --run-id c2
assert_contains "$ERR" "only 0 rows; want 2"
run_json c2 --history
assert_json "$SCRATCH/run.json" '.status == "failed"'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "rows") | .status == "failed" and (.error | contains("check \"sh\" refused the output: exited with code 1: only 0 rows; want 2")) and .output == null'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "rows") | .stderr_tail | contains("only 0 rows")'
assert_json "$SCRATCH/run.json" '[.steps[] | select(.stage == "per_row")] | length == 0'

note "expect: min_items and required, on a stage and on each item of a fan-out"
cat >"$SCRATCH/expect.json" <<'EOF'
{ "name": "expects", "version": 1,
  "params": { "rows": { "type": "string", "default": "[]" } },
  "stages": [
    { "id": "rows", "run": ["printf", "%s", "${params.rows}"],
      "expect": { "min_items": 1, "required": ["id", "name"] } },
    { "id": "each", "needs": ["rows"], "foreach": "${stages.rows.output}", "key": "${item.id}",
      "run": ["sh", "-c", "jq -c '.item | {id}'"], "expect": { "required": ["id", "extra"] } }
  ] }
EOF
expect_exit 1 wf start "$SCRATCH/expect.json" --run-id e1
assert_contains "$ERR" "expect: min_items 1: the output has 0 items"
expect_exit 1 wf start "$SCRATCH/expect.json" --run-id e2 -p 'rows=[{"id": 1, "name": "a"}, {"id": 2}]'
assert_contains "$ERR" 'expect: required: item 1 of the output has no field "name"'
expect_exit 1 wf start "$SCRATCH/expect.json" --run-id e3 -p 'rows={"id": 1}'
assert_contains "$ERR" 'expect: required: the output has no field "name"'
expect_exit 1 wf start "$SCRATCH/expect.json" --run-id e4 -p 'rows=[{"id": 1, "name": "a"}]'
assert_contains "$ERR" 'each/1'
assert_contains "$ERR" 'expect: required: the output has no field "extra"'
assert_eq "$(step_field e4 rows status)" succeeded "the stage whose output holds"

note "a check that cannot run fails the stage, saying so"
cat >"$SCRATCH/nocheck.json" <<'EOF'
{ "name": "nocheck", "stages": [ { "id": "a", "run": ["echo", "{}"], "check": ["no-such-check-wf"] } ] }
EOF
expect_exit 1 wf start "$SCRATCH/nocheck.json" --run-id n1
assert_contains "$ERR" 'check "no-such-check-wf" could not run'

note "--dry-run lists the checks"
ok wf start "$def" --dry-run
assert_contains "$OUT" 'check: ["sh","-c",'
assert_contains "$OUT" "expect: {\"required\":[\"id\"]} (on the stage's output)"
assert_contains "$OUT" "check: [\"jq\",\"-e\",\".row == 1\"] (given each item's output on stdin)"

note "bad checks: exit 2 with what is wrong, nothing recorded"
bad() { # NAME STAGE-FIELDS MESSAGE
  printf '{ "name": "bad", "stages": [ { "id": "a", "run": ["true"], %s } ] }\n' "$2" >"$SCRATCH/$1.json"
  expect_exit 2 wf start "$SCRATCH/$1.json" --run-id "bad-$1"
  assert_contains "$ERR" "$3"
  expect_exit 3 wf show-run "bad-$1"
}
bad str '"check": "test -s /dev/stdin"' '"check" must be a non-empty array of strings'
bad num '"check": ["test", 1]' '"check[1]" must be a string'
bad empty '"check": [""]' '"check[0]" (the program) is empty'
bad interp '"check": ["test", "${params.nope}"]' 'unknown param "nope"'
bad expobj '"expect": 3' '"expect" must be an object'
bad expkey '"expect": {"min_item": 1}' 'min_item'
bad min '"expect": {"min_items": -1}' '"min_items" must be an integer >= 0'
bad req '"expect": {"required": []}' '"required" must be a non-empty array'
bad reqs '"expect": {"required": [""]}' '"required" must hold field names'
