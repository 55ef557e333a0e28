# A recorded step is reused only while its input is the one recorded: on a rerun of the
# same run (--start-from on an edited definition, or with a changed parameter) a step whose
# input changed executes again with a step_input_changed event, and one whose input did not
# change is reused without executing.
source "$(dirname "$0")/lib.sh" "$@"

STEP=$DEFS/step.sh
log=$SCRATCH/log
def=$SCRATCH/memo.json
printf '[{"id":"x","v":1},{"id":"y","v":1},{"id":"z","v":1}]\n' >"$SCRATCH/items1.json"
printf '[{"id":"x","v":1},{"id":"y","v":2},{"id":"z","v":1}]\n' >"$SCRATCH/items2.json"

# write_def A_NAME ITEMS: the definition, with stage a marking A_NAME and stage src
# listing the items of file ITEMS. Only those two differ between the versions.
#   a -> b -> z <- p        src -> fan (one step per item, key = item id)
write_def() {
  cat >"$def" <<EOF
{ "name": "memo", "version": 1,
  "params": { "log": { "type": "string", "required": true },
              "v": { "type": "string", "default": "1" } },
  "defaults": { "retry": { "max_attempts": 1 }, "timeout_s": 60 },
  "stages": [
    { "id": "a", "run": ["sh", "$STEP", "mark", "\${params.log}", "$1"] },
    { "id": "p", "run": ["sh", "$STEP", "mark", "\${params.log}", "p"] },
    { "id": "b", "needs": ["a"], "run": ["sh", "$STEP", "mark", "\${params.log}", "b"] },
    { "id": "z", "needs": ["b", "p"], "run": ["sh", "$STEP", "mark", "\${params.log}", "z"] },
    { "id": "src", "run": ["sh", "-c", "echo src >>\"\$0\"; cat \"\$1\"", "\${params.log}", "$SCRATCH/$2"] },
    { "id": "fan", "needs": ["src"], "foreach": "\${stages.src.output}", "key": "\${item.id}",
      "run": ["sh", "$STEP", "mark", "\${params.log}", "fan/\${item.id}"] }
  ] }
EOF
}

# executed: the steps that appended to the side file since it was emptied, sorted.
executed() { sort "$log" | tr '\n' ' '; }

# changed_in GEN: the steps with a step_input_changed event after the generation-GEN
# marker of the history (GEN 0: from the start), sorted.
changed_in() {
  ok wf show-run R --history -o json
  jq -r --arg g "generation $1" '
    .events as $e
    | ([$e | to_entries[] | select(.value.type == "generation" and .value.detail == $g) | .key]
       | first // 0) as $from
    | [$e[$from:][] | select(.type == "step_input_changed") | .step] | sort | join(" ")' "$OUT"
}

write_def a items1.json
ok wf start "$def" --run-id R -p log="$log"
assert_eq "$(executed)" "a b fan/x fan/y fan/z p src z " "first run"
assert_eq "$(changed_in 0)" "" "input changes on a first run"
p_out=$(step_field R p output | jq -c .)

# The same definition again from z: only z executes; every other step's input is the
# recorded one, so it is reused.
: >"$log"
ok wf start "$def" --run-id R -p log="$log" --start-from z
assert_eq "$(executed)" "z " "rerun from z with nothing changed"
assert_eq "$(changed_in 1)" "" "input changes on a rerun with nothing changed"

# Edited definition: a marks another name (its own input changed), so its output changes
# and b, whose definition is the same, gets another input; item y of the fan-out has
# another value, x and z have not. z executes again because of --start-from.
write_def a2 items2.json
: >"$log"
ok wf start "$def" --run-id R -p log="$log" --start-from z
assert_eq "$(executed)" "a2 b fan/y src z " "rerun from z of the edited definition"
assert_eq "$(changed_in 2)" "a b fan/y src" "steps with step_input_changed after the edit"
ok wf show-run R --history
grep -Eq '^[0-9]+ +[^ ]+ +step_input_changed +a ' "$OUT" ||
  { show_captured; fail "show-run --history does not show step_input_changed for a"; }
run_json R
j=$SCRATCH/run.json
assert_json "$j" '.status == "succeeded"'
# Executed again: the new outputs are recorded. Reused: the first run's output stays.
assert_json "$j" '.steps[] | select(.key == "a") | .output.stage == "a2" and .generation == 2'
assert_json "$j" '.steps[] | select(.key == "b") | .generation == 2'
assert_json "$j" '.steps[] | select(.key == "fan/y") | .generation == 2'
assert_json "$j" '.steps[] | select(.key == "p") | .generation == 0'
assert_eq "$(step_field R p output | jq -c .)" "$p_out" "recorded output of the reused step p"
assert_json "$j" '[.steps[] | select(.key == "fan/x" or .key == "fan/z") | .generation] == [0, 0]'

# A changed parameter is in every step's input: all of them execute again.
: >"$log"
ok wf start "$def" --run-id R -p log="$log" -p v=2 --start-from z
assert_eq "$(executed)" "a2 b fan/x fan/y fan/z p src z " "rerun from z with -p v=2"
assert_eq "$(changed_in 3)" "a b fan/x fan/y fan/z p src" "steps with step_input_changed after -p v=2"

# Again without -p: the recorded v=2 is kept, so nothing but z executes.
: >"$log"
ok wf start "$def" --run-id R -p log="$log" --start-from z
assert_eq "$(executed)" "z " "rerun from z keeping the recorded -p v=2"
assert_eq "$(changed_in 4)" "" "input changes on a rerun keeping the recorded params"

note "memoization by input ok"
