#!/usr/bin/env bash
# The bundled toggl-fibery-demo workflow: the toggl-fibery stages on the shipped sample data,
# with no token, no workspace and no network. It must finish quickly, write the run files
# and reports, and its totals must match the sample day files summed here with jq. A local
# listener stands in for both API bases and must see no request at all.
. "$(dirname "$0")/lib.sh"

SAMPLE=$(cd "$TESTS/.." && pwd)/workflows/bundled/toggl-fibery-demo
[[ -d $SAMPLE/toggl/time_entries ]] || fail "no sample data at $SAMPLE"

# No credentials from the environment or a config file.
unset TOGGL_API_TOKEN TOGGL_WORKSPACE_ID FIBERY_API_TOKEN FIBERY_WORKSPACE
export WF_TF_CONFIG=$SCRATCH/no-such-config.json XDG_CONFIG_HOME=$SCRATCH/xdg

# Both API bases point at a listener that answers nothing and logs every request; without
# the stub binary, at a closed port so that any request would fail the run.
STUB=$(dirname "$WF")/../tests/stubs/wf-stub-http
if [[ -x $STUB ]]; then
  echo '{"routes": []}' >"$SCRATCH/routes.json"
  : >"$SCRATCH/requests.jsonl"
  "$STUB" --script "$SCRATCH/routes.json" --port-file "$SCRATCH/port" \
    --log "$SCRATCH/requests.jsonl" --max-seconds 120 &
  BG_PIDS+=("$!")
  wait_for 10 test -s "$SCRATCH/port"
  BASE=http://127.0.0.1:$(cat "$SCRATCH/port")
else
  note "no stub server at $STUB: API bases set to a closed port"
  BASE=http://127.0.0.1:9
fi
export TOGGL_API_BASE=$BASE FIBERY_API_BASE=$BASE

note "wf start toggl-fibery-demo"
T0=$(now)
CMD_TIMEOUT=20 ok wf start toggl-fibery-demo --run-id demo
T=$(elapsed "$T0")
less_than "$T" 20 || fail "the demo took ${T}s"
note "finished in ${T}s"

R=$WF_HOME/runs/demo
for f in raw_toggl_data.json toggl_aggregated.json entities_to_enrich.json enriched_data.json \
  reports/toggl_summary.md reports/team_summary.md; do
  [[ -s $R/$f ]] || fail "missing run file $f"
done

# Expected totals, from the shipped day files (every page), without wf: entries
# de-duplicated by id, running timers (stop null or negative seconds) left out.
ENTRIES=$SCRATCH/entries.json
jq -s '[.[] | (if type == "object" then .data else . end) | .[] | . as $row
        | .time_entries[] | {id, seconds, stop, user_id: $row.user_id}]
       | map(select(.stop != null and .seconds >= 0)) | unique_by(.id)' \
  "$SAMPLE"/toggl/time_entries/*.json >"$ENTRIES"
[[ -s $ENTRIES ]] || fail "cannot read the sample day files"
N=$(jq length "$ENTRIES")
((N >= 30)) || fail "only $N sample entries"
hours() { awk -v s="$1" 'BEGIN { printf "%.2f", s / 3600 }'; }

TOTAL=$(jq '[.[].seconds] | add' "$ENTRIES")
assert_eq "$(json_get "$R/raw_toggl_data.json" .statistics.total_duration_seconds)" "$TOTAL" \
  "raw_toggl_data.json total seconds"
assert_eq "$(json_get "$R/raw_toggl_data.json" .statistics.total_entries)" "$N" \
  "raw_toggl_data.json entries"
assert_contains "$R/reports/team_summary.md" "| Total hours | $(hours "$TOTAL") |"
note "team total $(hours "$TOTAL") h over $N entries"

# Every person with time has an individual report with their own total.
PEOPLE=$(jq -r --slurpfile u "$SAMPLE/toggl/users.json" '
  ($u[0] | map({key: (.id | tostring), value: (.email | ascii_downcase)}) | from_entries) as $m
  | group_by(.user_id)[] | "\($m[.[0].user_id | tostring]) \(map(.seconds) | add)"' "$ENTRIES")
[[ -n $PEOPLE ]] || fail "no people in the sample"
while read -r email secs; do
  f=$R/reports/individual/$email.md
  [[ -s $f ]] || fail "no individual report for $email"
  assert_contains "$f" "| Total hours | $(hours "$secs") |"
  assert_contains "$R/reports/team_summary.md" "$email"
done <<<"$PEOPLE"
assert_eq "$(find "$R/reports/individual" -name '*.md' | wc -l | tr -d ' ')" \
  "$(wc -l <<<"$PEOPLE" | tr -d ' ')" "individual reports"

# Fibery names made it into the reports; the id the sample Fibery lacks is not found.
NAME=$(jq -r '.[0].result[0]["Scrum/Name"]' "$SAMPLE/fibery/Scrum__Task.json")
[[ -n $NAME && $NAME != null ]] || fail "no task name in the sample Fibery data"
assert_contains "$R/reports/team_summary.md" "$NAME"
jq -e '.[0].result | all(.["fibery/public-id"] != "1299")' "$SAMPLE/fibery/Scrum__Task.json" \
  >/dev/null || fail "the sample Fibery data should lack Scrum/Task#1299"
grep -q '#1299 \[Scrum\] \[Task\]' "$SAMPLE"/toggl/time_entries/*.json ||
  fail "the sample day files should reference #1299"
assert_json "$R/enriched_data.json" \
  'any(.enriched_entities[]; .entity_key == "Scrum/Task#1299" and .status == "not_found")'
assert_json "$R/enriched_data.json" \
  'any(.enriched_entities[]; .status == "ok" and .name != null and (.enriched_data.assignees | length) > 0)'
assert_contains "$R/reports/team_summary.md" "Scrum/Task#1299"

# Nothing went over the network: the listener logged no request, and every API step read
# the sample files (no requests counted).
if [[ -x $STUB ]]; then
  assert_eq "$(lines "$SCRATCH/requests.jsonl")" 0 "requests seen by the listener"
fi
run_json demo
assert_json "$SCRATCH/run.json" '.status == "succeeded"'
assert_json "$SCRATCH/run.json" \
  '[.steps[] | select(.key | test("^(users|fetch|fibery)"))] | length >= 3'
assert_json "$R/raw_toggl_data.json" '[.days[].requests] | add == 0'
assert_json "$R/enriched_data.json" '.statistics.fibery_requests == 0'
# run_metadata.json: the run's figures agree with the files they come from.
assert_json "$R/run_metadata.json" '.status == "completed" and .counts.toggl_requests == 0 and
  .counts.fibery_requests == 0 and .counts.not_found >= 1'
E=$(jq '.time_entries | length' "$R/raw_toggl_data.json")
P=$(jq '.users | length' "$R/toggl_aggregated.json")
OK=$(jq '.statistics.ok' "$R/enriched_data.json")
assert_json "$R/run_metadata.json" ".counts.entries == $E and .counts.persons == $P and .counts.ok == $OK"

echo "t_tf_demo: ok"
