#!/usr/bin/env bash
# toggl-fibery against stand-ins of the two APIs that behave like the real ones at their
# limits (127.0.0.1, started and stopped here): the stub counts exactly (Toggl 1 request/s,
# Fibery 3 requests/s per token) and its Fibery rejects a query naming a field the
# workspace lacks, as Fibery does. No self-inflicted 429; the schema read once, the missing
# field left out with a warning (entities stay ok), a configured type the workspace lacks
# reported as such; bad parameters and tokens refused before the run exists; the run's
# figures; the reports as a team lead reads them.
. "$(dirname "$0")/lib.sh"

DATA=$TESTS/data/tf_field
start_stub() { start_api_stub "$DATA/routes.json"; }

# min_gap PATH-PREFIXES...: the smallest time between two requests to those paths, in ms.
min_gap() {
  jq -s --argjson p "$(printf '%s\n' "$@" | jq -R . | jq -s .)" \
    '[.[] | select(.path as $x | any($p[]; . as $q | $x | startswith($q))) | .t_ms]
     | [range(1; length) as $i | .[$i] - .[$i - 1]] | min // 99999' "$SCRATCH/requests.jsonl"
}

export TOGGL_API_TOKEN=tok-field-1 TOGGL_WORKSPACE_ID=88 FIBERY_API_TOKEN=fib-field-2 FIBERY_WORKSPACE=acme
unset WF_TF_CONFIG; export XDG_CONFIG_HOME=$SCRATCH/xdg  # no config file: the environment only
USERS=ana@example.com,bo@example.com,cy@example.com
P=(-p start_date=2025-04-07 -p end_date=2025-04-10 -p page_size=2 -p users=$USERS
   -p enrichment=$DATA/enrichment.json)
ENTRIES=/reports/api/v3/workspace/88/search/time_entries

note "a run at the servers' exact limits"
start_stub
CMD_TIMEOUT=120 ok wf start toggl-fibery "${P[@]}" --run-id f1
R=$WF_HOME/runs/f1
M=$R/run_metadata.json
assert_json "$M" '.status == "completed"'

note "no 429 of our own making, at 1 and 3 requests/s"
assert_eq "$(jq -s '[.[] | select(.throttled)] | length' "$SCRATCH/requests.jsonl")" 0 "self-inflicted 429s"
assert_eq "$(jq -s '[.[] | select(.status != 200)] | length' "$SCRATCH/requests.jsonl")" 0 "answers other than 200"
((8 <= $(requests /)))  || fail "too few requests to tell: $(requests /)"
g=$(min_gap /api/v9/ /reports/)
((g >= 1000)) || fail "two Toggl requests ${g} ms apart"
g=$(min_gap /api/commands /api/documents/)
((g >= 333)) || fail "two Fibery requests ${g} ms apart"

note "the schema, read once: a missing field left out, a missing type reported"
assert_eq "$(requests /api/commands fibery.schema/query)" 1 "schema reads"
assert_eq "$(requests /api/commands 'Scrum/Estimate (D)')" 0 "queries naming the missing field"
assert_json "$R/enriched_data.json" '[.enriched_entities[] | select(.entity_type == "Scrum/Task") | .status] == ["ok","ok","ok","ok","ok"]'
assert_json "$R/enriched_data.json" '.enriched_entities[] | select(.entity_key == "Scrum/Chore#55") |
  .status == "unknown_type" and (.error | contains("the Fibery workspace has no type \"Scrum/Chore\""))'
assert_eq "$(requests /api/commands Scrum/Chore)" 0 "queries of the missing type"
FIELD='Fibery workspace: type "Scrum/Task" has no field "Scrum/Estimate (D)"'
TYPE='Fibery workspace: no type "Scrum/Chore"'
assert_json "$M" "(.warning_messages | any(startswith(\"$(sed 's/"/\\"/g' <<<"$FIELD")\"))) and
  (.warning_messages | any(startswith(\"$(sed 's/"/\\"/g' <<<"$TYPE")\")))"
assert_contains "$R/reports/team_summary.md" "$FIELD"
assert_contains "$R/reports/team_summary.md" "$TYPE"
assert_contains "$R/reports/team_summary.md" \
  '| Scrum/Chore#55 | Cleanup | 0.33 | unknown type: the Fibery workspace has no type "Scrum/Chore" | Ana Lima |'
assert_contains "$R/reports/team_summary.md" "| Scrum/Chore | 1 | 0.33 | yes, unknown to Fibery |"
assert_contains "$ERR" "wf: warning: $FIELD"
assert_eq "$(tail -n 1 "$OUT" | grep -c '^run f1 succeeded in .*, with 2 warnings (above)$')" 1 \
  "the outcome, with the number of warnings, as the last line"

note "the run's figures"
REFS=$(jq '[.users[].matched_entities[].entity_key] | unique | length' "$R/toggl_aggregated.json")
assert_eq "$REFS" 8 "distinct references in the fixture"
assert_json "$M" ".counts.references == $REFS and .counts.ok == 6 and .counts.unknown_type == 1 and
  .counts.type_missing == 1 and .counts.entries == 10 and .counts.persons == 3"
assert_json "$M" ".counts.toggl_requests == $(requests $ENTRIES) and .counts.toggl_retried == 0 and
  .counts.fibery_requests == $(($(requests /api/commands) + $(requests /api/documents/))) and
  .counts.fibery_retried == 0"
# the enrichment config's batch_size (3 here) sets the queries, not a parameter default
assert_eq "$(requests /api/commands '"q/from":"Scrum/Task"')" 2 "Scrum/Task queries for 5 ids, 3 a query"

note "the reports, as a team lead reads them"
ANA=$R/reports/individual/ana@example.com.md
assert_contains "$R/reports/individual/cy@example.com.md" "# Individual Activity Report: Cy Doe <cy@example.com>"
assert_contains "$ANA" "Redesign the login page — started 2025-04-01; The login page needs a redesign for the new brand."
assert_not_contains "$ANA" "## Context"
assert_contains "$ANA" "| 2025-04-09 | 0.00 | 0.00 | 0.00 |"
assert_contains "$R/reports/team_summary.md" "type missing; may be the same as Scrum/Task#7701"
assert_contains "$R/reports/team_summary.md" "| Team meeting | 1.00 | 2 | Ana Lima, Bo Berg |"
if grep -rlaF -e tok-field-1 -e fib-field-2 "$WF_HOME" >/dev/null; then
  fail "a token was written under WF_HOME"
fi

note "bad parameters: exit 2, nothing recorded, no request"
start_stub
expect_exit 2 wf start toggl-fibery -p start_date=2025-04-10 -p end_date=2025-04-07 --run-id b1
assert_contains "$ERR" 'param "end_date" is 2025-04-07, before param "start_date" (2025-04-10)'
expect_exit 2 wf start toggl-fibery -p start_date=2025-01-01 -p end_date=2026-01-02 --run-id b2
assert_contains "$ERR" "367 days from param \"start_date\""
assert_eq "$(requests /)" 0 "requests for refused parameters"
expect_exit 2 wf start toggl-fibery -p start_date=2025-04-07 -p end_date=2025-04-07 \
  -p users=ana@example.com,nobody@example.com --run-id b3
assert_contains "$ERR" "unknown Toggl users (not in workspace 88): nobody@example.com"
assert_not_contains "$ERR" "wf resume"
assert_eq "$(requests $ENTRIES)" 0 "time-entry requests for an unknown user"
for id in b1 b2 b3; do [[ ! -e $WF_HOME/runs/$id ]] || fail "refused start $id left a run folder"; done
expect_exit 3 wf show-run b3

note "a bad Fibery token costs seconds, not the Toggl fetch"
start_stub
T0=$(now)
FIBERY_API_TOKEN=wrong-fibery expect_exit 2 wf start toggl-fibery "${P[@]}" --run-id b4
less_than "$(elapsed "$T0")" 15 || fail "the bad token took $(elapsed "$T0")s to find"
assert_contains "$ERR" 'stage "schema" (checked before the run is created): Fibery rejected the token (HTTP 403)'
assert_not_contains "$ERR" wrong-fibery
assert_eq "$(requests $ENTRIES)" 0 "time-entry requests with a bad Fibery token"
[[ ! -e $WF_HOME/runs/b4 ]] || fail "a start refused for its token left a run folder"

note "--start-from fibery of a run that does not exist"
expect_exit 3 wf start toggl-fibery --start-from fibery --run-id nosuch
assert_contains "$ERR" "no run nosuch"
assert_not_contains "$ERR" "missing required param"

note "an empty period says what it knows of the timezone"
start_stub
CMD_TIMEOUT=60 ok wf start toggl-fibery -p start_date=2025-04-09 -p end_date=2025-04-09 --run-id e1
assert_not_contains "$WF_HOME/runs/e1/reports/team_summary.md" "unknown"
assert_contains "$WF_HOME/runs/e1/reports/team_summary.md" "in the timezone of the Toggl profile"

echo "t_tf_field: ok"
