# run_metadata.json keeps the reference pipeline's status words (completed, in_progress,
# cancelled); show-run gives that word beside wf's where they differ, and -o json both.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate

# meta_status ID: the status run_metadata.json of run ID holds.
meta_status() { jq -r .status "$WF_HOME/runs/$1/run_metadata.json"; }

note "succeeded: completed"
ok wf start "$DEFS/three.json" -p log="$log" --run-id ok1
assert_eq "$(meta_status ok1)" completed "run_metadata.json status of a succeeded run"
ok wf show-run ok1
grep -qx 'status    succeeded  (run_metadata.json: completed)' "$OUT" || { show_captured; fail "no status line with both words"; }
run_json ok1
assert_json "$SCRATCH/run.json" '.status == "succeeded" and .run_metadata_status == "completed"'

note "failed: the same word, said once"
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id f1
assert_eq "$(meta_status f1)" failed "run_metadata.json status of a failed run"
ok wf show-run f1
grep -qx 'status    failed' "$OUT" || { show_captured; fail "a failed run's status line"; }

note "canceled: cancelled; a crashed owner left in_progress behind"
touch "$gate"
: >"$log"
start_bg "$SCRATCH/c.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id c1
owner=$BG
wait_for 20 has_lines "$log" 4
ok wf cancel-run c1
# The owner writes the file once it has recorded the run canceled, which cancel-run waits for.
wait_exit "$owner" 20
assert_eq "$(meta_status c1)" cancelled "run_metadata.json status of a canceled run"
ok wf show-run c1
assert_contains "$OUT" "(run_metadata.json: cancelled)"
: >"$log"
start_bg "$SCRATCH/k.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id k1
owner=$BG
wait_for 20 has_lines "$log" 4
crash "$owner"
run_json k1
assert_json "$SCRATCH/run.json" '.status == "interrupted" and .run_metadata_status == "in_progress"'
rm -f "$gate"

note "metadata status ok"
