#!/usr/bin/env bash
# The toggl-fibery workflow end to end against a local stub of the Toggl and Fibery APIs
# (127.0.0.1, started and stopped here): reports and their totals, requests counted at the
# stub, 429 handling, a missing entity, --start-from fibery, kill -9 during fetch and
# during fibery without re-requesting recorded days or entities, and no token anywhere.
# The data holds what the parser and aggregation must get right (DOMAIN.md §3.3, §4): a
# description with two #ids (the rightmost is the reference), a zero-second entry (an entry
# of 0 s, not a running timer), and public id 101 of two types (Scrum/Task#101 and
# Scrum/Bug#101 are two entities). The Fibery stub answers a query only when both its type
# (q/from) and its ids match, so a query by id alone finds nothing.
. "$(dirname "$0")/lib.sh"

STUB=$(dirname "$WF")/../tests/stubs/wf-stub-http
[[ -x $STUB ]] || fail "no stub server at $STUB (build the tests)"
DATA=$TESTS/data/tf_e2e
STUB_PID=

# start_stub DAY2_DELAY_MS FIBERY_DELAY_MS: a fresh stub with its own request log.
start_stub() {
  cp "$DATA"/users.json "$DATA"/day1.json "$DATA"/day2.json "$DATA"/schema.json "$SCRATCH"/
  sed -e "s/@DAY2_DELAY@/$1/" -e "s/@FIB_DELAY@/$2/" "$DATA/routes.json.in" >"$SCRATCH/routes.json"
  start_api_stub "$SCRATCH/routes.json"
}

# has_step RUN JQ-FILTER: the run exists and the filter holds on its show-run JSON. (jq -e
# on empty input succeeds, so the run's JSON is captured first.)
has_step() {
  local json
  json=$("$WF" show-run "$1" -o json 2>/dev/null) || return 1
  jq -e "$2" <<<"$json" >/dev/null
}

# fibery_queries TYPE ID: how many Fibery queries asked for entity ID of type TYPE.
fibery_queries() { requests /api/commands "\"q/from\":\"$1\"" "\"$2\""; }

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
# Totals, computed by hand from day1.json and day2.json: Ana 3600+900+900+1800 s,
# Bo 1800+1200+2700+600+0 s.
A=$R/reports/individual/ana@example.com.md B=$R/reports/individual/bo@example.com.md
assert_contains "$A" "| Total hours | 2.00 |"
assert_contains "$B" "| Total hours | 1.75 |"
assert_contains "$A" "| [#101](https://acme.fibery.io/Scrum/Task/101) | Build login page | In progress | 1.50 | 2 | 2 |"
assert_contains "$B" "| [#102](https://acme.fibery.io/Scrum/Task/102) | Write API docs | Done | 0.75 | 1 | 1 |"
# "Port fix from #102 — Add audit log #103 [Scrum] [Task] [Web]": Ana's 900 s go to #103
# (the rightmost id); #102 is only text of the description, and Ana never worked on it.
assert_contains "$A" "| [#103](https://acme.fibery.io/Scrum/Task/103) | Add audit log | Open | 0.25 | 1 | 1 |"
assert_not_contains "$A" "Scrum/Task/102"
assert_contains "$A" "| Entities worked on | 2 (ok 2, not found 0, unresolved 0) |"
AGG=$R/toggl_aggregated.json
assert_json "$AGG" '.users["ana@example.com"].matched_entities | map(.entity_key) | sort ==
  ["Scrum/Task#101", "Scrum/Task#103"]'
assert_json "$AGG" '.users["ana@example.com"].matched_entities[] | select(.entity_key == "Scrum/Task#103") |
  .duration_seconds == 900 and .entries_count == 1 and .names == ["Port fix from #102 — Add audit log"]'
# Bo's zero-second entry on Scrum/Task#101: one entry of 0 s on 2025-03-04, not a skipped timer.
assert_json "$AGG" '.users["bo@example.com"].matched_entities[] | select(.entity_key == "Scrum/Task#101") |
  .duration_seconds == 0 and .entries_count == 1 and .by_day == {"2025-03-04": 0}'
assert_json "$AGG" '.skipped.running == 0 and .statistics.total_entries == 9 and
  .statistics.total_duration_seconds == 13500 and .statistics.unique_entities == 6'
assert_contains "$B" "| [#101](https://acme.fibery.io/Scrum/Task/101) | Build login page | In progress | 0.00 | 1 | 1 |"
assert_contains "$R/reports/team_summary.md" \
  "| [#101](https://acme.fibery.io/Scrum/Task/101) | Build login page | In progress | 1.50 | Ana Lima, Bo Berg |"
# Scrum/Bug#101 is another entity than Scrum/Task#101: its own name and state.
assert_contains "$B" "| [#101](https://acme.fibery.io/Scrum/Bug/101) | Login fails on Safari | In review | 0.33 | 1 | 1 |"
assert_contains "$B" "| Entities worked on | 5 (ok 4, not found 1, unresolved 0) |"
assert_contains "$R/reports/team_summary.md" "| Entities worked on | 6 |"
assert_contains "$R/reports/team_summary.md" "| Entries | 9 |"
assert_json "$R/entities_to_enrich.json" '.by_type == {"Scrum/Bug": ["101", "201", "999"],
  "Scrum/Task": ["101", "102", "103"]}'
assert_json "$R/enriched_data.json" '[.enriched_entities[] | select(.status == "ok") |
  "\(.entity_key)=\(.name)"] | sort == ["Scrum/Bug#101=Login fails on Safari",
  "Scrum/Bug#201=Crash on start", "Scrum/Task#101=Build login page",
  "Scrum/Task#102=Write API docs", "Scrum/Task#103=Add audit log"]'
# #999 is not in Fibery: reported, and the run still succeeded.
grep -q "999" "$R/reports/individual/bo@example.com.md" || fail "the missing entity #999 is not reported"
jq -e '[.. | objects | select(.status? == "not_found")] | length >= 1' "$R/enriched_data.json" >/dev/null ||
  fail "enriched_data.json does not record #999 as not found"
# Requests: one users call, day 1 twice (429 then 200), day 2 once, the schema once, one
# query per batch (batch_size 1: one per entity), each naming its entity's type.
assert_eq "$(requests /users)" 1 "requests /users"
assert_eq "$(requests $ENTRIES 2025-03-03)" 2 "requests $ENTRIES 2025-03-03"
assert_eq "$(requests $ENTRIES 2025-03-04)" 1 "requests $ENTRIES 2025-03-04"
assert_eq "$(requests /api/commands fibery.schema/query)" 1 "schema reads"
assert_eq "$(requests /api/commands q/from)" 6 "queries"
for te in Scrum/Task:101 Scrum/Task:102 Scrum/Task:103 Scrum/Bug:101 Scrum/Bug:201 Scrum/Bug:999; do
  assert_eq "$(fibery_queries "${te%%:*}" "${te#*:}")" 1 "queries for ${te%%:*}#${te#*:}"
done
# run_metadata.json carries the run's figures (from the team stage's output): 9 entries of
# 2 persons (the zero-second one included), the time-entry requests (the 429 sent again
# apart) and Fibery requests the stub answered, 6 references (Task#101 and Bug#101 apart),
# #999 not found.
assert_json "$R/run_metadata.json" '.counts.entries == 9 and .counts.persons == 2 and .warnings == 0 and .warning_messages == []'
assert_json "$R/run_metadata.json" '.counts.references == 6 and .counts.ok == 5 and .counts.not_found == 1'
assert_json "$R/run_metadata.json" ".counts.toggl_requests == 2 and .counts.toggl_retried == 1 and
  .counts.toggl_requests + .counts.toggl_retried == $(requests $ENTRIES) and
  .counts.fibery_requests == $(requests /api/commands) and .counts.fibery_retried == 0"
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

note "--start-from fibery redoes the schema read, enrichment and reports only"
start_stub 0 0
CMD_TIMEOUT=120 ok wf start toggl-fibery --run-id r1 --start-from fibery
assert_eq "$(requests /users)" 0 "requests /users"
assert_eq "$(requests $ENTRIES)" 0 "requests $ENTRIES"
assert_eq "$(requests /api/commands fibery.schema/query)" 1 "schema reads"
assert_eq "$(requests /api/commands q/from)" 6 "queries"
assert_contains "$A" "| Total hours | 2.00 |"
assert_contains "$B" "| [#101](https://acme.fibery.io/Scrum/Bug/101) | Login fails on Safari | In review | 0.33 | 1 | 1 |"

note "kill -9 during fetch, resume: day 1 is not fetched again"
start_stub 3000 0
start_bg "$SCRATCH/k1.out" start toggl-fibery "${P[@]}" --run-id k1
wait_for 30 has_step k1 'any(.steps[]; .key == "fetch/2025-03-03" and .status == "succeeded")'
# day 2 is paced after day 1's 429: kill once its (slow) answer is in flight
day2_asked() { (($(requests $ENTRIES 2025-03-04) >= 1)); }
wait_for 30 day2_asked
crash "$BG"
assert_eq "$(requests $ENTRIES 2025-03-03)" 2 "requests $ENTRIES 2025-03-03"
CMD_TIMEOUT=120 ok wf resume k1
assert_eq "$(requests $ENTRIES 2025-03-03)" 2 "requests $ENTRIES 2025-03-03"
[[ $(requests $ENTRIES 2025-03-04) -ge 2 ]] || fail "day 2 was not fetched again after the kill"
assert_contains "$WF_HOME/runs/k1/reports/individual/bo@example.com.md" "| Total hours | 1.75 |"
assert_json "$WF_HOME/runs/k1/run_metadata.json" '.status == "completed"'

note "kill -9 during fibery, resume: recorded batches are not queried again"
start_stub 0 1500
start_bg "$SCRATCH/k2.out" start toggl-fibery "${P[@]}" --run-id k2
wait_for 60 has_step k2 'any(.steps[]; (.key | startswith("fibery/")) and .status == "succeeded")'
crash "$BG"
done_keys=$("$WF" show-run k2 -o json || true) ; done_keys=$(jq -r <<<"$done_keys" '.steps[] | select((.key | startswith("fibery/")) and .status == "succeeded") | .key | sub("^fibery/"; "")')
[[ -n $done_keys ]] || { "$WF" show-run k2 >&2 || true; fail "no fibery batch recorded before the kill"; }
CMD_TIMEOUT=120 ok wf resume k2
for key in $done_keys; do
  assert_eq "$(fibery_queries "${key%%#*}" "${key#*#}")" 1 "queries for recorded entity $key"
done
assert_eq "$(requests $ENTRIES 2025-03-03)" 2 "requests $ENTRIES 2025-03-03"
assert_contains "$WF_HOME/runs/k2/reports/individual/ana@example.com.md" "| Total hours | 2.00 |"

note "a bad token fails fast, before the run exists, with a clear message and no token in it"
start_stub 0 0
TOGGL_API_TOKEN=wrong-token expect_exit 2 wf start toggl-fibery "${P[@]}" --run-id bad
assert_contains "$ERR" 'stage "users" (checked before the run is created): Toggl rejected the token (HTTP 403)'
if grep -qF wrong-token "$ERR" "$OUT"; then fail "the token appears in the output"; fi
assert_eq "$(requests $ENTRIES)" 0 "time-entry requests with a bad Toggl token"
[[ ! -e $WF_HOME/runs/bad ]] || fail "a start refused for its token left a run folder"
echo "t_toggl_fibery: ok"
