# What is running, and how far along: show-run lists every stage in definition order with
# its status and done/total, the steps in flight as running with how long they have run,
# and the steps in stage order (not A-Z); -o json has a stages array. list-runs shows
# done/total as far as it is known. A report left by an owner that is gone never shows
# anything running.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate
list_gate=$SCRATCH/list_gate
j=$SCRATCH/run.json
touch "$gate" "$list_gate"

# ---- before the fan-out's list is known ----------------------------------------------------
start_bg "$SCRATCH/owner.out" start "$DEFS/progress.json" --run-id p1 -p log="$log" \
  -p gate="$gate" -p list_gate="$list_gate"
owner=$BG
# shows FILTER: show-run p1 -o json passes the jq test FILTER (the report is rewritten
# every quarter second).
shows() { "$WF" show-run p1 -o json </dev/null 2>/dev/null | jq -e "$1" >/dev/null 2>&1; }
wait_for 20 shows '.stages[0].status == "running"'
run_json p1
assert_json "$j" '[.stages[].id] == ["list", "work", "summarize", "report"]'
assert_json "$j" '.stages[0] | .status == "running" and .total == 1 and .done == 0 and .running == 1'
assert_json "$j" '.stages[1] | .status == "pending" and .total == null and .done == 0 and .running == 0'
assert_json "$j" '.stages[] | has("id", "status", "total", "done", "failed", "running", "reused", "fanout", "selected", "started_at", "finished_at", "duration_s")'
assert_json "$j" '[.steps[] | select(.status == "running") | .key] == ["list"]'
assert_json "$j" '.steps_done == 0 and .steps_total == 3 and .steps_total_known == false'
# The list of the fan-out is not known yet: at least list, summarize and report.
ok wf list-runs
assert_contains "$OUT" "0/≥3"

# ---- in flight ------------------------------------------------------------------------------
rm "$list_gate"
wait_for 20 shows '.stages[1].running == 2'
run_json p1
assert_json "$j" '.status == "running"'
assert_json "$j" '[.stages[] | [.id, .status]] == [["list", "succeeded"], ["work", "running"], ["summarize", "pending"], ["report", "pending"]]'
assert_json "$j" '.stages[1] | .total == 5 and .done == 0 and .running == 2 and .failed == 0'
assert_json "$j" '[.steps[] | select(.status == "running") | .key] == ["work/1", "work/2"]'
assert_json "$j" '[.steps[] | select(.status == "running") | .duration_s >= 0 and .attempt == 1 and .started_at != null] | all'
assert_json "$j" '.steps_done == 1 and .steps_total == 8 and .steps_total_known == true'
ok wf show-run p1
# the stage table, in definition order, with done/total
awk '/^STAGE/ { on = 1; next } on && NF == 0 { exit } on { print $1, $2, $3 }' "$OUT" >"$SCRATCH/stages"
assert_eq "$(tr '\n' ';' <"$SCRATCH/stages")" "list succeeded 1/1;work running 0/5;summarize pending 0/1;report pending 0/1;" "stage table"
grep -qE '^work +running +0/5 .*2 running' "$OUT" || { show_captured; fail "the work row does not say 2 running"; }
grep -qE '^work/1 +running +1 +[0-9.]+s' "$OUT" || { show_captured; fail "work/1 is not listed as running with how long it ran"; }
assert_contains "$OUT" "steps     1/8 done, 2 running"
ok wf list-runs
grep -qE '^p1 .* running .* 1/8 ' "$OUT" || { show_captured; fail "list-runs does not show 1/8 for the running run"; }

# ---- the owner dies: nothing of its report reads as running ------------------------------
crash "$owner"
run_json p1
assert_json "$j" '.status == "interrupted"'
assert_json "$j" '[.steps[] | select(.status == "running")] == []'
assert_json "$j" '[.stages[] | .running] | all(. == 0)'
assert_json "$j" '.stages[1] | .status == "stopped" and .total == 5'
ok wf show-run p1
assert_not_contains "$OUT" "running"
grep -qE '^work +stopped +0/5' "$OUT" || { show_captured; fail "the work stage of the dead owner's run is not shown stopped"; }
ok wf list-runs
grep -qE '^p1 .* interrupted .* 1/8 ' "$OUT" || { show_captured; fail "list-runs does not show 1/8 for the interrupted run"; }
# Without its report (lost in a crash of the machine, or damaged) nothing is known of the
# total, and show-run lists the steps in the definition's stage order.
mv "$WF_HOME/logs/p1/.progress" "$SCRATCH/report"
ok wf list-runs
grep -qE '^p1 .* interrupted .* 1/\? ' "$OUT" || { show_captured; fail "list-runs does not show 1/? without a report"; }
run_json p1
assert_json "$j" '.stages == null and .steps_total == null and .steps_total_known == false and .steps_done == 1'
echo garbage >"$WF_HOME/logs/p1/.progress"
run_json p1
assert_json "$j" '.stages == null and .steps_total == null'
mv "$SCRATCH/report" "$WF_HOME/logs/p1/.progress"

# ---- resumed to the end: steps in stage order, summarize before report ----------------
rm "$gate"
ok wf resume p1
run_json p1
assert_json "$j" '[.steps[].key] == ["list", "work", "work/1", "work/2", "work/3", "work/4", "work/5", "summarize", "report"]'
assert_json "$j" '[.stages[] | [.id, .status, .done, .total]] == [["list", "succeeded", 1, 1], ["work", "succeeded", 5, 5], ["summarize", "succeeded", 1, 1], ["report", "succeeded", 1, 1]]'
assert_json "$j" '.stages[0].reused == 1 and .stages[1].reused == 0'
ok wf show-run p1
awk '/^STEP/ { on = 1; next } on { print $1 }' "$OUT" | tr '\n' ' ' >"$SCRATCH/order"
assert_eq "$(cat "$SCRATCH/order")" "list work work/1 work/2 work/3 work/4 work/5 summarize report " "step order"
ok wf list-runs
grep -qE '^p1 .* succeeded .* 8/8 ' "$OUT" || { show_captured; fail "list-runs does not show 8/8"; }

