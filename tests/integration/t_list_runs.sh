# list-runs on a store holding runs of every status (succeeded, failed, degraded, canceled,
# interrupted, running) of several workflows: --status, --workflow and --limit return exactly
# the right runs, newest first, in every output format; interrupted and running (both
# stored as running) are told apart by whether the owner lives.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate

# ids ARGS...: the run ids list-runs -o ids prints, on one line.
ids() {
  ok wf list-runs -o ids "$@"
  tr '\n' ' ' <"$OUT" | sed 's/ $//'
}

# gated ID: start a run of gate.json in the background, held by the gate file; its wf pid
# is left in $BG once its steps are running.
gated() {
  : >"$log"
  start_bg "$SCRATCH/$1.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id "$1"
  wait_for 20 has_lines "$log" 1
}

touch "$gate"
ok wf start "$DEFS/three.json" -p log="$log" --run-id s1
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id f1
expect_exit 4 wf start "$DEFS/fanfail.json" --run-id d1 --continue-on-error
gated i1
crash "$BG"
gated c1
crash "$BG"
ok wf cancel-run c1
expect_exit 1 wf start "$DEFS/fanfail.json" --run-id f2
ok wf start "$DEFS/three.json" -p log="$log" --run-id s2
gated r1
owner=$BG

for r in s1:succeeded f1:failed d1:degraded i1:interrupted c1:canceled f2:failed s2:succeeded r1:running; do
  assert_eq "$(run_status "${r%%:*}")" "${r#*:}" "status of run ${r%%:*}"
done

# Newest first; each status exactly its runs.
assert_eq "$(ids)" "r1 s2 f2 c1 i1 d1 f1 s1" "list-runs"
assert_eq "$(ids --status failed)" "f2 f1" "list-runs --status failed"
assert_eq "$(ids --status succeeded)" "s2 s1" "list-runs --status succeeded"
assert_eq "$(ids --status degraded)" "d1" "list-runs --status degraded"
assert_eq "$(ids --status canceled)" "c1" "list-runs --status canceled"
assert_eq "$(ids --status interrupted)" "i1" "list-runs --status interrupted"
assert_eq "$(ids --status running)" "r1" "list-runs --status running"
assert_eq "$(ids --status pending)" "" "list-runs --status pending"

# With --workflow and --limit.
assert_eq "$(ids --status failed --workflow fail)" "f1" "list-runs --status failed --workflow fail"
assert_eq "$(ids --status failed --workflow fanfail)" "f2" "list-runs --status failed --workflow fanfail"
assert_eq "$(ids --workflow fanfail)" "f2 d1" "list-runs --workflow fanfail"
assert_eq "$(ids --status succeeded --workflow fanfail)" "" "list-runs --status succeeded --workflow fanfail"
assert_eq "$(ids --status failed --limit 1)" "f2" "list-runs --status failed --limit 1"
assert_eq "$(ids --status interrupted --limit 1)" "i1" "list-runs --status interrupted --limit 1"

# JSON and table say the same.
ok wf list-runs -o json --status failed
assert_json "$OUT" '[.[] | [.id, .status]] == [["f2", "failed"], ["f1", "failed"]]'
ok wf list-runs -o json --status interrupted
assert_json "$OUT" '[.[] | [.id, .status]] == [["i1", "interrupted"]]'
ok wf list-runs -o table --status canceled
assert_eq "$(awk 'NR > 1 { print $1, $3 }' "$OUT")" "c1 canceled" "list-runs -o table --status canceled"
ok wf list-runs -o table --status degraded --workflow fail
assert_contains "$OUT" "no runs match"

# The running run finishes: it moves from running to succeeded.
rm -f "$gate"
wait_exit "$owner" 30
assert_eq "$RC" 0 "exit code of run r1"
assert_eq "$(ids --status running)" "" "list-runs --status running after r1 finished"
assert_eq "$(ids --status succeeded)" "r1 s2 s1" "list-runs --status succeeded after r1 finished"
assert_eq "$(ids --status interrupted)" "i1" "list-runs --status interrupted after r1 finished"

note "list-runs by status ok"
