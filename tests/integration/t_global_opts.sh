# --home, -o/--output and WF_HOME: accepted before or after the command, --home wins.
source "$(dirname "$0")/lib.sh" "$@"

D=$SCRATCH/other-home
log=$SCRATCH/log

ok wf --home "$D" start "$DEFS/three.json" -p log="$log" --run-id g1
ok wf start "$DEFS/three.json" -p log="$log" --run-id g2 --home "$D"
[[ -d $D ]] || fail "--home $D did not create the store there"

# Both runs are in D, none in WF_HOME.
ok wf --home "$D" list-runs -o ids
assert_eq "$(sort "$OUT" | tr '\n' ' ')" "g1 g2 " "runs in --home (before the command)"
ok wf list-runs --home "$D" -o ids
assert_eq "$(sort "$OUT" | tr '\n' ' ')" "g1 g2 " "runs in --home (after the command)"
ok wf list-runs -o ids
assert_eq "$(cat "$OUT")" "" "runs in WF_HOME"

# WF_HOME names the store when --home is absent; --home beats WF_HOME.
ok env WF_HOME="$D" "$WF" list-runs -o ids
assert_eq "$(lines "$OUT")" 2 "WF_HOME=$D"
ok env WF_HOME="$D" "$WF" --home "$WF_HOME" list-runs -o ids
assert_eq "$(lines "$OUT")" 0 "--home beats WF_HOME"

# -o / --output before and after, with and without =.
ok wf -o json --home "$D" list-runs
assert_json "$OUT" 'length == 2'
ok wf --home "$D" list-runs -o json
assert_json "$OUT" 'length == 2'
ok wf --output json list-runs --home "$D"
assert_json "$OUT" 'length == 2'
ok wf --home "$D" list-runs --output=json
assert_json "$OUT" 'length == 2'
ok wf --home="$D" list-runs -o ids
assert_eq "$(lines "$OUT")" 2 "--home=DIR"
ok wf --home "$D" -o json show-run g1
assert_json "$OUT" '.id == "g1" and .status == "succeeded"'
ok wf --home "$D" show-run g1 -o table
assert_contains "$OUT" "g1"

# Not a TTY: the table is the default, and it is not JSON.
ok wf --home "$D" list-runs
if jq -e . "$OUT" >/dev/null 2>&1; then fail "list-runs without -o printed JSON, not a table"; fi

# A bad -o value is a usage error.
expect_exit 2 wf --home "$D" list-runs -o xml
expect_exit 2 wf -o xml --home "$D" list-runs

note "global options ok"
