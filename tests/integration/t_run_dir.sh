# start --run-dir DIR: the run's folder (${run.dir}, $WF_RUN_DIR, run_metadata.json) is
# DIR, recorded with the run so that show-run and resume use it; a folder another run has,
# a folder of other files and a folder inside the store are refused (exit 2, nothing
# recorded).
source "$(dirname "$0")/lib.sh" "$@"

F=$DEFS/files.json
log=$SCRATCH/log
gate=$SCRATCH/gate

note "a new folder becomes the run's"
ok wf start "$F" --run-id R1 -p log="$log" -p gate="$gate" --run-dir out/r1
out=$SCRATCH/out/r1
[[ -f $out/a.txt && -f $out/sub/b.bin && -f $out/run_metadata.json ]] || fail "the run's files are not in --run-dir"
[[ ! -e $WF_HOME/runs/R1 ]] || fail "the run also has a folder under the store"
run_json R1

assert_json "$SCRATCH/run.json" ".run_dir == \"$out\""
assert_json "$SCRATCH/run.json" ".steps[] | select(.key == \"read\") | .output.dir == \"$out\""
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "read") | .output.a == "hello"'
ok wf show-run R1
assert_contains "$OUT" "dir       $out"

note "refused: another run's folder, a folder of other files, a folder inside the store"
snapshot() { wf list-runs -o json | jq -c '[.[] | .id]'; }
before=$(snapshot)
expect_exit 2 wf start "$F" --run-id R2 -p log="$log" -p gate="$gate" --run-dir out/r1
assert_contains "$ERR" "belongs to run R1"
mkdir -p other && echo keep >other/mine.txt
expect_exit 2 wf start "$F" --run-id R2 -p log="$log" -p gate="$gate" --run-dir other
assert_contains "$ERR" "holds files"
assert_eq "$(cat other/mine.txt)" keep "a refused folder's file"
expect_exit 2 wf start "$F" --run-id R2 -p log="$log" -p gate="$gate" --run-dir "$WF_HOME/mine"
assert_contains "$ERR" "inside the store"
expect_exit 2 wf start "$F" --run-id R1 -p log="$log" -p gate="$gate" --run-dir out/x --start-from read
assert_contains "$ERR" "when a run is created"
assert_eq "$(snapshot)" "$before" "runs after refused starts"
[[ ! -e out/x && ! -e $WF_HOME/mine ]] || fail "a refused start made a folder"

note "an empty folder is fine; another store's run folder is refused"
mkdir -p empty
ok wf start "$F" --run-id R3 -p log="$log" -p gate="$gate" --run-dir empty
[[ -f empty/a.txt ]] || fail "no files in the empty folder given"
expect_exit 2 wf --home "$SCRATCH/home2" start "$F" --run-id R3 -p log="$log" -p gate="$gate" --run-dir empty
assert_contains "$ERR" "belongs to run R3 of the store at"

note "an interrupted run resumes in its folder"
touch "$gate"
start_bg "$SCRATCH/bg.out" start "$F" --run-id R4 -p log="$log" -p gate="$gate" --run-dir out/r4
wait_for 20 grep -qx "each q" "$log"
sleep 0.3
kill -9 "$BG"
wait "$BG" 2>/dev/null || true
wait_status R4 interrupted 10
rm -f "$out/../r4/a.txt"
echo again >"$SCRATCH/out/r4/a.txt"
rm -f "$gate"
ok wf resume R4
run_json R4
assert_json "$SCRATCH/run.json" '.status == "succeeded"'
assert_json "$SCRATCH/run.json" ".steps[] | select(.key == \"read\") | .output == {\"a\": \"again\", \"dir\": \"$SCRATCH/out/r4\"}"
[[ ! -e $WF_HOME/runs/R4 ]] || fail "the resumed run made a folder under the store"

# ---- deleting a run removes its --run-dir folder (and nothing beside it) -------------------
echo keep >"$SCRATCH/out/beside.txt"
ok wf delete-run R4
[[ ! -e $SCRATCH/out/r4 ]] || fail "delete-run left the run's --run-dir folder"
[[ -f $SCRATCH/out/beside.txt ]] || fail "delete-run removed a file beside the run's folder"
[[ -z $(find "$SCRATCH/out" -maxdepth 1 -name '.deleted-*') ]] || fail "a folder moved aside was left"
expect_exit 3 wf show-run R4
# its folder can be given to a new run now
ok wf start "$F" --run-id R5 -p log="$log" -p gate="$gate" --run-dir out/r4
[[ -f $SCRATCH/out/r4/a.txt ]] || fail "the new run's files are not in the freed folder"
