#!/usr/bin/env bash
# The toggl-fibery workflow end to end against a local stub of the Toggl and Fibery APIs
# (127.0.0.1, started and stopped here): reports and their totals, requests counted at the
# stub, 429 handling, a missing entity, --start-from fibery, kill -9 during fetch and
# during fibery without re-requesting recorded days or entities, and no token anywhere.
. "$(dirname "$0")/lib.sh"

STUB=$(dirname "$WF")/../tests/stubs/wf-stub-http
[[ -x $STUB ]] || fail "no stub server at $STUB (build the tests)"
DATA=$TESTS/data/tf_e2e
STUB_PID=

# start_stub DAY2_DELAY_MS FIBERY_DELAY_MS: a fresh stub with its own request log.
start_stub() {
  [[ -n $STUB_PID ]] && { kill "$STUB_PID" 2>/dev/null || true; wait "$STUB_PID" 2>/dev/null || true; }
  cp "$DATA"/users.json "$DATA"/day1.json "$DATA"/day2.json "$SCRATCH"/
  sed -e "s/@DAY2_DELAY@/$1/" -e "s/@FIB_DELAY@/$2/" "$DATA/routes.json.in" >"$SCRATCH/routes.json"
  rm -f "$SCRATCH/port" "$SCRATCH/requests.jsonl"
  "$STUB" --script "$SCRATCH/routes.json" --port-file "$SCRATCH/port" \
    --log "$SCRATCH/requests.jsonl" --max-seconds 240 &
  STUB_PID=$!
  BG_PIDS+=("$STUB_PID")
  wait_for 10 test -s "$SCRATCH/port"
  local port
  port=$(cat "$SCRATCH/port")
  export TOGGL_API_BASE=http://127.0.0.1:$port FIBERY_API_BASE=http://127.0.0.1:$port
}

# has_step RUN JQ-FILTER: the run exists and the filter holds on its show-run JSON. (jq -e
# on empty input succeeds, so the run's JSON is captured first.)
has_step() {
  local json
  json=$("$WF" show-run "$1" -o json 2>/dev/null) || return 1
  jq -e "$2" <<<"$json" >/dev/null
}

# requests PATH-SUBSTRING [BODY-SUBSTRING]: how many requests the stub logged.
requests() {
  jq -r --arg p "$1" --arg b "${2:-}" \
    'select((.path | contains($p)) and ((.body // "") | contains($b))) | .path' \
    "$SCRATCH/requests.jsonl" | wc -l
}

export TOGGL_API_TOKEN=tok-e2e-111 TOGGL_WORKSPACE_ID=77 FIBERY_API_TOKEN=fib-e2e-222 FIBERY_WORKSPACE=acme
P=(-p start_date=2025-03-03 -p end_date=2025-03-04 -p batch_size=1)
ENTRIES=/reports/api/v3/workspace/77/search/time_entries

note "a whole run"
start_stub 0 0
CMD_TIMEOUT=120 ok wf start toggl-fibery "${P[@]}" --run-id r1
R=$WF_HOME/runs/r1
for f in run_metadata.json raw_toggl_data.json toggl_aggregated.json entities_to_enrich.json enriched_data.json \
  reports/toggl_summary.md reports/team_summary.md reports/individual/ana@example.com.md \
  reports/individual/bo@example.com.md; do
  [[ -s $R/$f ]] || fail "missing run file $f"
done
assert_json "$R/run_metadata.json" '.run_id == "r1" and .workflow_id == "toggl-fibery-r1" and
  .status == "completed" and .parameters.start_date == "2025-03-03" and
  (.stages_completed | index("fetch") and index("fibery") and index("team")) and
  .stages_failed == [] and .completed_at != null'
# Totals, computed by hand from day1.json and day2.json: Ana 3600+900+1800 s, Bo 1800+2700+600 s.
assert_contains "$R/reports/individual/ana@example.com.md" "| Total hours | 1.75 |"
assert_contains "$R/reports/individual/bo@example.com.md" "| Total hours | 1.42 |"
assert_contains "$R/reports/individual/ana@example.com.md" "Build login page"
assert_contains "$R/reports/individual/bo@example.com.md" "Write API docs"
# #999 is not in Fibery: reported, and the run still succeeded.
grep -q "999" "$R/reports/individual/bo@example.com.md" || fail "the missing entity #999 is not reported"
jq -e '[.. | objects | select(.status? == "not_found")] | length >= 1' "$R/enriched_data.json" >/dev/null ||
  fail "enriched_data.json does not record #999 as not found"
# Requests: one users call, day 1 twice (429 then 200), day 2 once, one query per batch.
assert_eq "$(requests /users)" 1 "requests /users"
assert_eq "$(requests $ENTRIES 2025-03-03)" 2 "requests $ENTRIES 2025-03-03"
assert_eq "$(requests $ENTRIES 2025-03-04)" 1 "requests $ENTRIES 2025-03-04"
assert_eq "$(requests /api/commands)" 4 "requests /api/commands"
# run_metadata.json carries the run's figures (from the team stage's output): 6 entries of
# 2 persons, the time-entry requests and Fibery queries the stub answered, #999 not found.
assert_json "$R/run_metadata.json" '.counts.entries == 6 and .counts.persons == 2 and .warnings == 0'
assert_json "$R/run_metadata.json" ".counts.toggl_requests == $(requests $ENTRIES) and
  .counts.fibery_requests == $(requests /api/commands)"
assert_json "$R/run_metadata.json" '.counts.not_found >= 1 and .counts.ok >= 1 and
  .counts.references == (.counts | .ok + .not_found + .unknown_type + .type_missing + .error)'
assert_json "$R/run_metadata.json" '.step_counts.succeeded >= 1 and .step_counts.failed == 0'
# The day-1 retry sent the same body twice.
assert_eq "$(jq -r "select(.path == \"$ENTRIES\" and (.body | contains(\"2025-03-03\"))) | .body" \
  "$SCRATCH/requests.jsonl" | sort -u | wc -l)" 1 "distinct bodies of the retried day-1 request"
# Tokens never reach the store, logs or reports.
if grep -rlaF -e tok-e2e-111 -e fib-e2e-222 "$WF_HOME" >/dev/null; then
  fail "a token was written under WF_HOME: $(grep -rlaF -e tok-e2e-111 -e fib-e2e-222 "$WF_HOME")"
fi

note "--start-from fibery redoes enrichment and reports only"
start_stub 0 0
CMD_TIMEOUT=120 ok wf start toggl-fibery --run-id r1 --start-from fibery
assert_eq "$(requests /users)" 0 "requests /users"
assert_eq "$(requests $ENTRIES)" 0 "requests $ENTRIES"
assert_eq "$(requests /api/commands)" 4 "requests /api/commands"
assert_contains "$R/reports/individual/ana@example.com.md" "| Total hours | 1.75 |"

note "kill -9 during fetch, resume: day 1 is not fetched again"
start_stub 3000 0
start_bg "$SCRATCH/k1.out" start toggl-fibery "${P[@]}" --run-id k1
wait_for 30 has_step k1 'any(.steps[]; .key == "fetch/2025-03-03" and .status == "succeeded")'
crash "$BG"
assert_eq "$(requests $ENTRIES 2025-03-03)" 2 "requests $ENTRIES 2025-03-03"
CMD_TIMEOUT=120 ok wf resume k1
assert_eq "$(requests $ENTRIES 2025-03-03)" 2 "requests $ENTRIES 2025-03-03"
[[ $(requests $ENTRIES 2025-03-04) -ge 2 ]] || fail "day 2 was not fetched again after the kill"
assert_contains "$WF_HOME/runs/k1/reports/individual/bo@example.com.md" "| Total hours | 1.42 |"
assert_json "$WF_HOME/runs/k1/run_metadata.json" '.status == "completed"'

note "kill -9 during fibery, resume: recorded batches are not queried again"
start_stub 0 1500
start_bg "$SCRATCH/k2.out" start toggl-fibery "${P[@]}" --run-id k2
wait_for 60 has_step k2 'any(.steps[]; (.key | startswith("fibery/")) and .status == "succeeded")'
crash "$BG"
done_ids=$("$WF" show-run k2 -o json || true) ; done_ids=$(jq -r <<<"$done_ids" '.steps[] | select((.key | startswith("fibery/")) and .status == "succeeded") | .key | sub(".*#"; "")')
[[ -n $done_ids ]] || { "$WF" show-run k2 >&2 || true; fail "no fibery batch recorded before the kill"; }
CMD_TIMEOUT=120 ok wf resume k2
for id in $done_ids; do
  assert_eq "$(requests /api/commands "\"$id\"")" 1 "queries for recorded id $id"
done
assert_eq "$(requests $ENTRIES 2025-03-03)" 2 "requests $ENTRIES 2025-03-03"
assert_contains "$WF_HOME/runs/k2/reports/individual/ana@example.com.md" "| Total hours | 1.75 |"

note "a bad token fails fast with a clear message and no token in it"
start_stub 0 0
TOGGL_API_TOKEN=wrong-token expect_exit 1 wf start toggl-fibery "${P[@]}" --run-id bad
assert_contains "$ERR" "users"
if grep -qF wrong-token "$ERR" "$OUT"; then fail "the token appears in the output"; fi
echo "t_toggl_fibery: ok"
