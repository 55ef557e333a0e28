# map_cap.sh <wf> <tests-dir>: a run that fills the store up to WF_MAP_CAP_MB stops with a
# message that says so and how to raise the cap, and finishes once it is raised.
#
# 48 fan-out steps each output a 1 MiB JSON string of random base64 (about 0.75 MiB
# stored: it hardly compresses). With WF_MAP_CAP_MB=32 the store's map grows from its
# initial 16 MiB to the cap and the run stops: wf exits 5, its message names the size
# cap, WF_MAP_CAP_MB and `wf resume <run>`; the store still opens (list-runs, show-run)
# and every step recorded succeeded has its whole output. Then `wf resume` with
# WF_MAP_CAP_MB=256 finishes the run without executing a recorded step again.
# Prints "map-cap: recorded-at-cap=N of 48".
source "$(dirname "$0")/../integration/lib.sh" "$1" "$2"

NITEMS=48
CAP=32
ID=big
LOG=$SCRATCH/exec.log
DEF=$SCRATCH/big.json
cat >"$DEF" <<'EOF'
{
  "name": "big",
  "version": 1,
  "description": "48 steps, each appending its key to a side file and printing a 1 MiB string",
  "params": { "log": { "type": "string", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 }, "timeout_s": 60 },
  "stages": [
    { "id": "list", "run": ["awk", "BEGIN { printf \"[\"; for (i = 0; i < 48; i++) printf \"%s%d\", (i ? \",\" : \"\"), i; print \"]\" }"] },
    { "id": "big", "needs": ["list"], "foreach": "${stages.list.output}", "key": "${item}",
      "run": ["sh", "-c", "echo \"$1\" >> \"$2\"; printf '\"'; head -c 786432 /dev/urandom | base64 -w0; printf '\"\\n'", "sh", "${item}", "${params.log}"] }
  ]
}
EOF

# outputs_ok: every big/ step recorded succeeded in $SCRATCH/run.json has a 1 MiB output.
outputs_ok() {
  assert_json "$SCRATCH/run.json" \
    '[.steps[] | select((.key | startswith("big/")) and .status == "succeeded") | .output | length == 1048576] | all'
}

export WF_MAP_CAP_MB=$CAP
expect_exit 5 wf start "$DEF" --run-id "$ID" -p log="$LOG"
assert_icontains "$ERR" "size cap"
assert_contains "$ERR" "WF_MAP_CAP_MB"
assert_contains "$ERR" "wf resume $ID"

# The store at its cap opens and reads.
ok wf list-runs
run_json "$ID"
assert_eq "$(json_get "$SCRATCH/run.json" .status)" interrupted "status at the cap"
outputs_ok
at_cap=$(jq '[.steps[] | select((.key | startswith("big/")) and .status == "succeeded")] | length' "$SCRATCH/run.json")
((at_cap < NITEMS)) || fail "all $NITEMS steps were recorded within a $CAP MiB cap"
size=$(stat -c %s "$WF_HOME/store/data.mdb")
((size <= CAP << 20)) || fail "data.mdb is $size bytes, over the $CAP MiB cap"
((size > 16 << 20)) || fail "data.mdb is $size bytes: the map never grew past its initial 16 MiB"
recorded=$(jq -r '.steps[] | select((.key | startswith("big/")) and .status == "succeeded") | .key | sub("^big/"; "")' \
  "$SCRATCH/run.json" | sort)
lines_at_cap=$(lines "$LOG")

# Raised: it finishes.
export WF_MAP_CAP_MB=256
CMD_TIMEOUT=180 ok wf resume "$ID"
run_json "$ID"
assert_eq "$(json_get "$SCRATCH/run.json" .status)" succeeded "status after raising the cap"
assert_eq "$(jq '[.steps[] | select((.key | startswith("big/")) and .status == "succeeded")] | length' "$SCRATCH/run.json")" \
  "$NITEMS" "succeeded steps"
outputs_ok
again=$(tail -n +$((lines_at_cap + 1)) "$LOG" | sort | comm -12 - <(printf '%s\n' "$recorded"))
[[ -z $again ]] || fail "steps recorded succeeded at the cap were executed again: $(tr "\n" " " <<<"$again")"
echo "map-cap: recorded-at-cap=$at_cap of $NITEMS"
