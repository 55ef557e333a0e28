# The open-file limit: a window wider than the descriptors allow waits, it never fails.
#
#  - Under `ulimit -n 64` (soft and hard), 150 exec steps with --window 1000: every step
#    succeeds at its first attempt and every step's log holds what it wrote to stderr.
#    Each running exec step holds three pipes and a log; before, the steps past the limit
#    failed for good with "cannot create pipes: Too many open files".
#  - With a soft limit of 64 below a hard one of 4096, wf raises its soft limit to the
#    hard one before it runs anything (steps inherit it: a step reports `ulimit -n`).
source "$(dirname "$0")/lib.sh" "$@"

N=150
DEF=$SCRATCH/wide.json
cat >"$DEF" <<'EOF'
{ "name": "wide", "version": 1, "description": "a wide fan-out of exec steps that write to stderr",
  "params": { "n": { "type": "int", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 }, "timeout_s": 120 },
  "stages": [
    { "id": "list", "run": ["sh", "-c", "seq -s, 1 \"$1\" | sed 's/^/[/; s/$/]/'", "sh", "${params.n}"] },
    { "id": "w", "needs": ["list"], "foreach": "${stages.list.output}", "key": "${item}",
      "run": ["sh", "-c", "echo \"marker-$1\" >&2; sleep 0.05; echo \"$1\"", "sh", "${item}"] },
    { "id": "limit", "needs": ["w"], "run": ["sh", "-c", "ulimit -n"] }
  ]
}
EOF

note "ulimit -n 64, $N steps, --window 1000"
CMD_TIMEOUT=120 ok bash -c 'ulimit -n 64 && exec "$@"' sh "$WF" start "$DEF" --run-id low -p n=$N --window 1000
run_json low
assert_json "$SCRATCH/run.json" '.status == "succeeded"'
assert_eq "$(jq '[.steps[] | select(.stage == "w" and .key != "w" and .status == "succeeded" and .attempt == 1)] | length' "$SCRATCH/run.json")" \
  "$N" "steps of stage w that succeeded at their first attempt"
missing=0
for ((i = 1; i <= N; i++)); do
  grep -q "^marker-$i\$" "$WF_HOME/logs/low/w%2F$i.log" 2>/dev/null || missing=$((missing + 1))
done
assert_eq "$missing" 0 "step logs without their stderr"

note "a soft limit of 64 under a hard one of 4096 is raised"
ok bash -c 'ulimit -Sn 64 && ulimit -Hn 4096 && exec "$@"' sh "$WF" start "$DEF" --run-id raised -p n=20 --window 1000
assert_eq "$(step_field raised limit output)" 4096 "the open-file limit a step inherits"
