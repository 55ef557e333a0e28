# wf fork ID --from STAGE [--run-id NEW] [--run-dir DIR]: a new run that reuses ID's
# recorded steps of the stages before STAGE (with their logs and ID's folder's files) and
# executes the rest; ID stays exactly as it was. Bad input: exit 2 or 3, nothing recorded.
source "$(dirname "$0")/lib.sh" "$@"

F=$DEFS/files.json
log=$SCRATCH/log
gate=$SCRATCH/gate

ok wf start "$F" --run-id S -p log="$log" -p gate="$gate"
echo changed >"$WF_HOME/runs/S/a.txt"
src_before=$(wf show-run S -o json --history | jq -S .)
src_files=$(cd "$WF_HOME/runs/S" && find . -type f | sort | xargs md5sum)

note "fork --from each: write is reused, each and read execute"
: >"$log"
ok wf fork S --from each --run-id F1
assert_eq "$(sort <"$log" | tr '\n' ' ')" "each p each q read " "steps executed by the fork"
run_json F1 --history
j=$SCRATCH/run.json
assert_json "$j" '.status == "succeeded" and .forked_from == "S"'
assert_json "$j" '.steps[] | select(.key == "write") | .output == ["p","q"]'
# read saw the source's folder as it was when forked (a.txt copied).
assert_json "$j" '.steps[] | select(.key == "read") | .output.a == "changed"'
assert_json "$j" '[.events[] | select(.step == "write")] | length == 0'
assert_json "$j" '.events[0].detail | test("forked from run S at stage each: 1 recorded step reused")'
ok wf logs F1 --step write
assert_contains "$OUT" "write: making files"
ok wf show-run F1
assert_contains "$OUT" "forked    from run S"

note "the source run is untouched"
assert_eq "$(wf show-run S -o json --history | jq -S .)" "$src_before" "show-run S after forks"
assert_eq "$(cd "$WF_HOME/runs/S" && find . -type f | sort | xargs md5sum)" "$src_files" "S's files"

note "fork --from read, generated id, its own folder"
: >"$log"
ok wf -o ids fork S --from read --run-dir "$SCRATCH/out/f2"
assert_eq "$(tr '\n' ' ' <"$log")" "read " "steps executed by --from read"
id=$(head -1 "$OUT")
[[ $id == run_* ]] || fail "generated id: '$id'"
run_json "$id"
assert_json "$SCRATCH/run.json" ".run_dir == \"$SCRATCH/out/f2\" and .forked_from == \"S\""
assert_json "$SCRATCH/run.json" '.counts.succeeded == 5'
[[ -f $SCRATCH/out/f2/sub/b.bin && ! -e $WF_HOME/runs/$id ]] || fail "the fork's files are not in its --run-dir"

note "a fork of a fork"
: >"$log"
ok wf fork F1 --from read --run-id F3
assert_eq "$(tr '\n' ' ' <"$log")" "read " "steps executed by a fork of a fork"
assert_eq "$(run_status F3)" succeeded "F3"

note "bad input: exit 2 or 3, nothing recorded"
runs() { wf list-runs -o json | jq -c '[.[] | .id] | sort'; }
before=$(runs)
: >"$log"
expect_exit 2 wf fork S --from nope
assert_contains "$ERR" "no such stage (its stages: write, each, read)"
expect_exit 2 wf fork S
assert_contains "$ERR" "--from STAGE"
expect_exit 3 wf fork NOPE --from each
assert_contains "$ERR" "no run NOPE"
expect_exit 2 wf fork S --from each --run-id F1
assert_contains "$ERR" "already exists"
expect_exit 2 wf fork S --from each --run-id 'bad/id'
expect_exit 2 wf fork S --from each --run-dir "$SCRATCH/out/f2"
assert_contains "$ERR" "belongs to run $id"
expect_exit 2 wf fork S --from each --window 0
assert_eq "$(runs)" "$before" "runs after refused forks"
assert_eq "$(lines "$log")" 0 "steps executed by refused forks"

note "a run a live process owns is not forked"
touch "$gate"
start_bg "$SCRATCH/bg.out" start "$F" --run-id L -p log="$log" -p gate="$gate"
wait_for 20 grep -qx "each q" "$log"
expect_exit 1 wf fork L --from read --run-id F4
assert_contains "$ERR" "owned by a live process"
rm -f "$gate"
wait "$BG"
expect_exit 3 wf show-run F4
ok wf fork L --from read --run-id F4
