# wf export ID > FILE and wf --home OTHER import FILE [--as NEW] [--run-dir DIR]: the run
# comes back as it was (show-run the same but for its folder), with its logs and files, and
# an interrupted one can be resumed there. A truncated or damaged file, an existing id, a
# bad id: exit 2, nothing written.
source "$(dirname "$0")/lib.sh" "$@"

F=$DEFS/files.json
log=$SCRATCH/log
gate=$SCRATCH/gate
H2=$SCRATCH/home2

# show ID [HOME]: show-run --history as JSON, less what must differ between stores.
show() {
  "$WF" --home "${2:-$WF_HOME}" show-run "$1" -o json --history </dev/null |
    jq -S 'del(.run_dir) | del(.steps[].output.dir?)'
}

note "a succeeded run"
ok wf start "$F" --run-id S -p log="$log" -p gate="$gate"
expect_exit 0 bash -c "'$WF' export S > '$SCRATCH/s.wfx'"
head -c 8 "$SCRATCH/s.wfx" | od -An -c | grep -q 'W   F   X' || fail "no magic at the start of the export"
ok wf --home "$H2" import "$SCRATCH/s.wfx"
assert_contains "$OUT" "run S imported"
assert_eq "$(show S "$H2")" "$(show S)" "show-run of the imported run"
assert_eq "$(cat "$H2/runs/S/a.txt")" hello "a file of the run's folder"
cmp -s "$H2/runs/S/sub/b.bin" "$WF_HOME/runs/S/sub/b.bin" || fail "a binary file of the run's folder"
ok wf --home "$H2" logs S --step write
assert_contains "$OUT" "write: making files"

note "an interrupted run is resumed where it was imported"
touch "$gate"
: >"$log"
start_bg "$SCRATCH/bg.out" start "$F" --run-id I -p log="$log" -p gate="$gate" --run-dir "$SCRATCH/out/i"
wait_for 20 grep -qx "each q" "$log"
expect_exit 1 bash -c "'$WF' export I > '$SCRATCH/live.wfx'"
assert_contains "$ERR" "owned by a live process"
sleep 0.3
kill -9 "$BG"
wait "$BG" 2>/dev/null || true
wait_status I interrupted 10
expect_exit 0 bash -c "'$WF' export I > '$SCRATCH/i.wfx'"
ok wf --home "$H2" import "$SCRATCH/i.wfx"
assert_eq "$(show I "$H2")" "$(show I)" "show-run of the imported interrupted run"
assert_eq "$("$WF" --home "$H2" show-run I -o json | jq -r .run_dir)" "$H2/runs/I" "the imported run's folder"
rm -f "$gate"
: >"$log"
ok wf --home "$H2" resume I
# Only read executes (the killed run's own read step, orphaned, may finish too).
assert_eq "$(grep -cv '^read$' "$log" || true)" 0 "steps other than read executed by the resume"
grep -qx read "$log" || fail "read did not execute on resume"
ok wf --home "$H2" show-run I -o json
assert_json "$OUT" ".status == \"succeeded\" and (.steps[] | select(.key == \"read\") | .output == {\"a\": \"hello\", \"dir\": \"$H2/runs/I\"})"
assert_eq "$(run_status I)" interrupted "the exported run in its own store"

note "--as NEW and --run-dir"
ok wf --home "$H2" import "$SCRATCH/s.wfx" --as S2 --run-dir "$SCRATCH/out/s2"
assert_eq "$(show S2 "$H2" | jq -S 'del(.id)')" "$(show S | jq -S 'del(.id)')" "show-run of S imported as S2"
[[ -f $SCRATCH/out/s2/a.txt ]] || fail "no files in the --run-dir of the import"

note "refused: an existing id, a bad id, a missing file, bad files at many offsets"
state() {
  { "$WF" --home "$H2" list-runs -o ids </dev/null | sort
    (cd "$H2" && find runs logs | sort)
    md5sum <"$H2/store/data.mdb"; }
}
before=$(state)
expect_exit 2 wf --home "$H2" import "$SCRATCH/s.wfx"
assert_contains "$ERR" "a run S exists"
assert_contains "$ERR" "--as NEW"
expect_exit 2 wf --home "$H2" import "$SCRATCH/s.wfx" --as 'bad/id'
expect_exit 2 wf --home "$H2" import "$SCRATCH/nope.wfx"
assert_contains "$ERR" "nothing was written"
echo "not an export" >"$SCRATCH/text.wfx"
expect_exit 2 wf --home "$H2" import "$SCRATCH/text.wfx" --as T
assert_contains "$ERR" "not a wf export file"
size=$(stat -c %s "$SCRATCH/s.wfx")
for cut in 0 4 8 11 12 15 21 40 100 $((size / 2)) $((size - 30)) $((size - 5)) $((size - 1)); do
  head -c "$cut" "$SCRATCH/s.wfx" >"$SCRATCH/cut.wfx"
  expect_exit 2 wf --home "$H2" import "$SCRATCH/cut.wfx" --as T
  assert_contains "$ERR" "nothing was written"
done
assert_contains "$ERR" "truncated"
for at in 3 9 13 20 30 60 $((size / 3)) $((size / 2)) $((size - 40)) $((size - 12)) $((size - 2)); do
  cp "$SCRATCH/s.wfx" "$SCRATCH/bad.wfx"
  byte=$(od -An -tu1 -j "$at" -N1 "$SCRATCH/bad.wfx" | tr -d ' ')
  printf "$(printf '\\%03o' $(((byte + 1) % 256)))" |
    dd of="$SCRATCH/bad.wfx" bs=1 seek="$at" conv=notrunc status=none
  expect_exit 2 wf --home "$H2" import "$SCRATCH/bad.wfx" --as T
  assert_contains "$ERR" "cannot import"
done
cat "$SCRATCH/s.wfx" "$SCRATCH/s.wfx" >"$SCRATCH/twice.wfx"
expect_exit 2 wf --home "$H2" import "$SCRATCH/twice.wfx" --as T
assert_contains "$ERR" "goes on after its end"
assert_eq "$(state)" "$before" "the store after refused imports"
# into a store that does not exist yet, a bad file makes none
expect_exit 2 wf --home "$SCRATCH/home3" import "$SCRATCH/cut.wfx"
assert_contains "$ERR" "nothing was written"
[[ ! -e $SCRATCH/home3 ]] || fail "a refused import made a store"

note "export: an unknown run, a bad id"
expect_exit 3 bash -c "'$WF' export NOPE > /dev/null"
expect_exit 2 bash -c "'$WF' export 'bad/id' > /dev/null"
expect_exit 2 wf export
