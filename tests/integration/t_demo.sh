# `wf start demo` on a fresh store, then the run as seen by show-run and list-runs in every
# output format.
source "$(dirname "$0")/lib.sh" "$@"

# The README's first command runs the demo on the default store, ./.wf.
unset WF_HOME
ok wf start demo
[[ -d .wf ]] || fail "wf start demo without --home/WF_HOME did not create ./.wf"
head -n 1 "$OUT" >"$SCRATCH/first"
id=$(sed -n 's/^run \([^ ]*\) started (workflow demo)$/\1/p' "$SCRATCH/first")
[[ -n $id ]] || { show_captured; fail "first line is not 'run <id> started (workflow demo)'"; }
tail -n 1 "$OUT" | grep -Eq "^run $id succeeded in [0-9.]+s$" ||
  { show_captured; fail "last line is not 'run $id succeeded in <secs>s'"; }
grep -Eq '^stage [^ ]+ succeeded in [0-9.]+s \([0-9]+ steps?\)$' "$OUT" ||
  { show_captured; fail "no 'stage <id> succeeded in <secs>s (<n> step(s))' line"; }

# Every stage of the bundled demo has a progress line.
demo_def=$TESTS/../workflows/bundled/demo.json
if [[ -f $demo_def ]]; then
  for s in $(jq -r '.stages[].id' "$demo_def"); do
    grep -Eq "^stage $s (succeeded|skipped)" "$OUT" || { show_captured; fail "no progress line for stage $s"; }
  done
fi

# show-run, table.
ok wf show-run "$id"
assert_contains "$OUT" "$id"
assert_contains "$OUT" "succeeded"
assert_contains "$OUT" "demo"

# show-run -o json: every documented field with the documented types.
run_json "$id"
j=$SCRATCH/run.json
assert_json "$j" ".id == \"$id\""
assert_json "$j" '.workflow == "demo"'
assert_json "$j" '.status == "succeeded"'
assert_json "$j" '(.generation | type) == "number" and .generation >= 0'
assert_json "$j" '(.run_dir | type) == "string"'
assert_json "$j" '(.params | type) == "object"'
assert_json "$j" '.error == null'
assert_json "$j" 'has("owner")'
assert_json "$j" '.counts | keys == (["canceled","failed","pending","running","skipped","succeeded","upstream_failed"])'
assert_json "$j" '.counts.failed == 0 and .counts.running == 0 and .counts.pending == 0'
assert_json "$j" '.counts.succeeded >= 1'
assert_json "$j" '(.steps | length) >= 1'
# counts are over steps; a fan-out stage also has a row of its own (key = stage id,
# kind "stage"), which is not a step.
assert_json "$j" '.counts.succeeded == ([.steps as $all | .steps[] | select(.status == "succeeded")
  | select(.key as $k | [$all[] | select(.key | startswith($k + "/"))] | length == 0)] | length)'
assert_json "$j" '[.steps[] | select(.kind == "stage") | .key] == ["process"]'
assert_json "$j" '.counts.succeeded == ([.steps[] | select(.kind == "step" and .status == "succeeded")] | length)'
assert_json "$j" '[.steps[] | has("key","stage","kind","status","attempt","started_at","finished_at","duration_s","exit_code","error","output")] | all'
assert_json "$j" '[.steps[] | .attempt >= 1 and (.duration_s | type) == "number"] | all'
assert_json "$j" 'has("events") | not'
for f in created_at started_at finished_at; do
  v=$(json_get "$j" ".$f")
  is_iso_utc "$v" || fail "$f is not an ISO-8601 UTC time: $v"
done
v=$(json_get "$j" '.steps[0].finished_at')
is_iso_utc "$v" || fail "steps[0].finished_at is not an ISO-8601 UTC time: $v"
[[ $(json_get "$j" .created_at) < $(json_get "$j" .finished_at) ||
   $(json_get "$j" .created_at) == $(json_get "$j" .finished_at) ]] || fail "created_at after finished_at"

# --history adds the events, in sequence order.
run_json "$id" --history
assert_json "$j" '(.events | length) >= 1'
assert_json "$j" '[.events[] | has("seq","time","type","step","attempt","detail")] | all'
assert_json "$j" '[.events[].seq] == ([.events[].seq] | sort)'
ok wf show-run "$id" --history
assert_contains "$OUT" "$id"

# list-runs in the three formats.
ok wf list-runs
assert_contains "$OUT" "$id"
assert_contains "$OUT" "succeeded"
ok wf list-runs -o ids
assert_eq "$(cat "$OUT")" "$id" "list-runs -o ids"
ok wf list-runs -o json
assert_json "$OUT" 'type == "array" and length == 1'
assert_json "$OUT" ".[0].id == \"$id\" and .[0].workflow == \"demo\" and .[0].status == \"succeeded\""
assert_json "$OUT" '.[0] | has("created_at","finished_at","counts")'
assert_json "$OUT" '.[0].counts.succeeded >= 1'
ok wf list-runs --output json
assert_json "$OUT" 'length == 1'

# -o json on start: the final run object on stdout, progress on stderr.
ok wf start demo -o json
assert_json "$OUT" '.status == "succeeded" and .workflow == "demo"'
id2=$(json_get "$OUT" .id)
[[ $id2 != "$id" ]] || fail "second run got the same id"
assert_contains "$ERR" "run $id2 started (workflow demo)"
assert_contains "$ERR" "run $id2 succeeded in"

# Listing order and filters.
ok wf list-runs -o ids --workflow demo
assert_eq "$(lines "$OUT")" 2 "two runs listed"
ok wf list-runs -o ids --limit 1
assert_eq "$(lines "$OUT")" 1 "--limit 1"
ok wf list-runs -o ids --status succeeded
assert_eq "$(lines "$OUT")" 2 "--status succeeded"
ok wf list-runs -o ids --status failed
assert_eq "$(lines "$OUT")" 0 "--status failed"
ok wf list-runs -o ids --workflow demo
assert_eq "$(lines "$OUT")" 2 "--workflow demo"
ok wf list-runs -o ids --workflow nosuch
assert_eq "$(lines "$OUT")" 0 "--workflow nosuch"
ok wf list-runs -o ids --since 1d
assert_eq "$(lines "$OUT")" 2 "--since 1d"
ok wf list-runs -o ids --since 2h
assert_eq "$(lines "$OUT")" 2 "--since 2h"
ok wf list-runs -o ids --since "$(date -u -d tomorrow +%Y-%m-%d)"
assert_eq "$(lines "$OUT")" 0 "--since tomorrow"
ok wf list-runs -o ids --since 2000-01-01
assert_eq "$(lines "$OUT")" 2 "--since 2000-01-01"
ok wf list-runs -o ids --since 2000-01-01T00:00:00Z
assert_eq "$(lines "$OUT")" 2 "--since ISO"

# Generated ids differ even for runs started within the same second.
T=$DEFS/three.json
ok wf start "$T" -p log="$SCRATCH/log" -o json
q1=$(json_get "$OUT" .id)
ok wf start "$T" -p log="$SCRATCH/log" -o json
q2=$(json_get "$OUT" .id)
[[ $q1 != "$q2" ]] || fail "two runs got the same generated id $q1"

# A run id of one's own.
ok wf start demo --run-id my-demo-1
assert_contains "$OUT" "run my-demo-1 started (workflow demo)"
ok wf show-run my-demo-1 -o json
assert_json "$OUT" '.id == "my-demo-1" and .status == "succeeded"'

note "demo ok: $id $id2"
