# wf resume runs the definition the run recorded; it warns when the definition file has
# changed since, and `wf resume ID --reload` runs the file as it is now: steps whose input
# changed run again, the others are reused.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
def=$SCRATCH/flow.json

# write_def FIRST BAD [NAME]: a definition first -> bad -> after, where first marks FIRST
# in the log and bad runs BAD ("false", or "mark" to succeed).
write_def() {
  local bad='"false"'
  [[ $2 == mark ]] && bad="\"sh\", \"$DEFS/step.sh\", \"mark\", \"\${params.log}\", \"bad\""
  cat >"$def" <<JSON
{ "name": "${3:-flow}", "version": 1,
  "params": { "log": { "type": "string", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 }, "timeout_s": 60 },
  "stages": [
    { "id": "first", "run": ["sh", "$DEFS/step.sh", "mark", "\${params.log}", "$1"] },
    { "id": "bad", "needs": ["first"], "run": [$bad] },
    { "id": "after", "needs": ["bad"], "run": ["sh", "$DEFS/step.sh", "mark", "\${params.log}", "after"] }
  ] }
JSON
}

note "an unchanged file: no warning"
write_def first false
expect_exit 1 wf start "$def" -p log="$log" --run-id r1
expect_exit 1 wf resume r1
assert_not_contains "$ERR" "has changed"

run_json r1
hash1=$(jq -r .definition_hash "$SCRATCH/run.json")
assert_eq "$(json_get "$SCRATCH/run.json" .definition_path)" "$def" "definition_path"
assert_eq "${#hash1}" 16 "length of definition_hash"

note "the file fixed: resume warns and runs the recorded definition"
write_def first mark
: >"$log"
expect_exit 1 wf resume r1
assert_contains "$ERR" "warning: $def has changed since run r1 recorded its definition; this resume runs the recorded one"
assert_contains "$ERR" "wf resume r1 --reload"
assert_eq "$(lines "$log")" 0 "steps executed by the resume of the recorded definition"

note "--reload: the new definition runs; first, whose input is the same, is reused"
ok wf resume r1 --reload
assert_not_contains "$ERR" "has changed"
assert_eq "$(tr '\n' ' ' <"$log")" "bad after " "steps executed by resume --reload"
run_json r1 --history
j=$SCRATCH/run.json
assert_json "$j" '.status == "succeeded" and .generation == 0'
assert_json "$j" '[.events[] | select(.type == "run_resumed") | .detail] | last | contains("(resume --reload)")'
assert_json "$j" '[.events[] | select(.type == "step_input_changed")] == []'
assert_json "$j" '.steps[] | select(.key == "first") | .attempt == 1'
# The run recorded the new definition.
[[ $(jq -r .definition_hash "$j") != "$hash1" ]] || fail "the definition hash did not change with --reload"

note "--reload with a changed step: it runs again (input changed), and so does what needs it"
write_def first false
: >"$log"
expect_exit 1 wf start "$def" -p log="$log" --run-id r2
write_def first-v2 mark
: >"$log"
ok wf resume r2 --reload
assert_eq "$(tr '\n' ' ' <"$log")" "first-v2 bad after " "steps executed by resume --reload"
run_json r2 --history
assert_json "$SCRATCH/run.json" '[.events[] | select(.type == "step_input_changed") | .step] == ["first"]'

note "--reload refuses another workflow's definition, and --all"
write_def first false
: >"$log"
expect_exit 1 wf start "$def" -p log="$log" --run-id r3
write_def first mark other
expect_exit 2 wf resume r3 --reload
assert_contains "$ERR" "now defines workflow \"other\", not \"flow\""
rm -f "$def"
expect_exit 3 wf resume r3 --reload
assert_contains "$ERR" "--reload cannot load its definition"
expect_exit 2 wf resume --all --reload
assert_eq "$(lines "$log")" 1 "steps executed by refused reloads"
assert_eq "$(run_status r3)" failed "status of r3 after refused reloads"

note "reload ok"
