# wf gc and wf delete-run: runs selected by age, status and workflow are deleted with their
# steps, events, logs and folders, and list-runs stays right; a run a live process owns is
# never deleted; --dry-run deletes nothing; with no selection the retention of the
# configuration file applies; --compact shrinks the file only while no other process has
# the store open; bad input exits 2 and changes nothing.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate
export XDG_CONFIG_HOME=$SCRATCH/config

ids() {
  ok wf list-runs -o ids --limit 0 "$@"
  tr '\n' ' ' <"$OUT" | sed 's/ $//'
}

# snapshot: what the store holds, for "nothing changed" checks.
snapshot() {
  { "$WF" list-runs -o json --limit 0 | jq -c '[.[] | {id, status, steps}]'
    ls "$WF_HOME/runs" "$WF_HOME/logs"; } 2>&1
}

ok wf start "$DEFS/three.json" -p log="$log" --run-id old-ok
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id old-fail
expect_exit 1 wf start "$DEFS/fanfail.json" --run-id old-fan
[[ -d $WF_HOME/logs/old-fail ]] || fail "the failed run left no logs to delete"
mkdir -p "$WF_HOME/runs/old-ok" && echo report >"$WF_HOME/runs/old-ok/report.txt"
sleep 2.2
ok wf start "$DEFS/three.json" -p log="$log" --run-id new-ok
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id new-fail
assert_eq "$(ids)" "new-fail new-ok old-fan old-fail old-ok" "the runs made"

note "bad input: exit 2, nothing changed"
before=$(snapshot)
expect_exit 2 wf gc
assert_contains "$ERR" "gc needs a selection"
expect_exit 2 wf gc --older-than 3 fortnights
expect_exit 2 wf gc --older-than soon
assert_contains "$ERR" "--older-than \"soon\""
expect_exit 2 wf gc --older-than 1d --status failed,bogus
assert_contains "$ERR" "unknown status \"bogus\""
expect_exit 2 wf gc --older-than 1d --status running
assert_contains "$ERR" "never deletes pending or running runs"
expect_exit 2 wf gc --since today --until yesterday
expect_exit 2 wf gc --older-than 1d --bogus
expect_exit 2 wf gc old-ok
expect_exit 2 wf delete-run
expect_exit 2 wf delete-run old-ok "../x"
expect_exit 2 wf delete-run old-ok new    # an ambiguous prefix: nothing deleted
assert_contains "$ERR" "new-fail"
assert_contains "$ERR" "new-ok"
assert_eq "$(snapshot)" "$before" "the store after bad input"

note "--dry-run lists and deletes nothing"
ok wf gc --older-than 2s --dry-run
assert_contains "$OUT" "would delete 3 runs"
for r in old-ok old-fail old-fan; do assert_contains "$OUT" "$r"; done
assert_not_contains "$OUT" "new-ok"
ok wf gc --older-than 2s --dry-run -o ids
assert_eq "$(tr '\n' ' ' <"$OUT")" "old-ok old-fail old-fan " "gc --dry-run -o ids"
assert_eq "$(snapshot)" "$before" "the store after --dry-run"

note "by status and workflow, then by age"
ok wf gc --older-than 2s --status failed --workflow fail -o json
assert_json "$OUT" '.deleted == 1 and .runs == ["old-fail"] and .steps >= 1 and .events >= 2 and .record_bytes > 0 and .files >= 1'
assert_eq "$(ids)" "new-fail new-ok old-fan old-ok" "after gc --status failed --workflow fail"
[[ ! -e $WF_HOME/logs/old-fail ]] || fail "old-fail's logs are left"
ok wf gc --older-than 2s
assert_contains "$OUT" "deleted 2 runs"
assert_contains "$OUT" "of records freed"
assert_eq "$(ids)" "new-fail new-ok" "after gc --older-than 2s"
assert_eq "$(ids --status failed)" "new-fail" "list-runs --status failed after gc"
[[ ! -e $WF_HOME/runs/old-ok ]] || fail "old-ok's run folder is left"
expect_exit 3 wf show-run old-ok
ok wf gc --older-than 2s
assert_contains "$OUT" "no runs match"

note "a run a live process owns is never deleted"
touch "$gate"
: >"$log"
start_bg "$SCRATCH/live.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id live
owner=$BG
wait_for 20 has_lines "$log" 1
ok wf gc --older-than now --workflow gate --status interrupted,failed,succeeded
assert_contains "$OUT" "no runs match"
assert_eq "$(ids)" "live new-fail new-ok" "after gc while a run is live"
expect_exit 1 wf delete-run live
assert_contains "$ERR" "a live process owns it"
[[ -e $WF_HOME/locks/live ]] || fail "the live run's lock is gone"
note "--compact refuses while another process has the store open"
size0=$(stat -c %s "$WF_HOME/store/data.mdb")
expect_exit 1 wf gc --compact
assert_contains "$ERR" "another process has it open"
assert_eq "$(stat -c %s "$WF_HOME/store/data.mdb")" "$size0" "the store file after a refused compaction"
rm -f "$gate"
wait_exit "$owner" 30

note "delete-run: several ids and prefixes, and what was freed"
for i in 1 2 3; do ok wf start "$DEFS/three.json" -p log="$log" --run-id "d$i-run"; done
expect_exit 3 wf delete-run d1 nosuch d2-r
assert_contains "$OUT" "deleted run d1-run"
assert_contains "$OUT" "deleted run d2-run"
assert_contains "$ERR" "run nosuch not deleted: no such run"
ok wf delete-run d3 live -o json
assert_json "$OUT" '.deleted == 2 and (.runs | sort) == ["d3-run", "live"] and .skipped == []'
assert_eq "$(ids)" "new-fail new-ok" "after delete-run"

note "the retention of the configuration file, applied by gc with no selection"
mkdir -p "$XDG_CONFIG_HOME/wf"
printf 'retention = bogus\n' >"$XDG_CONFIG_HOME/wf/config"
before=$(snapshot)
expect_exit 2 wf gc
assert_contains "$ERR" "config:1: retention \"bogus\""
printf 'oops\n' >"$XDG_CONFIG_HOME/wf/config"
expect_exit 2 wf gc
assert_contains "$ERR" "config:1: expected \"key = value\""
assert_eq "$(snapshot)" "$before" "the store after a bad configuration"
printf '# keep a week of failures\nretention = 0s\nretention_status = failed\n' >"$XDG_CONFIG_HOME/wf/config"
ok wf gc --dry-run
assert_contains "$OUT" "would delete 1 run "
ok wf gc
assert_eq "$(ids)" "new-ok" "after gc with the configured retention"
# An explicit selection overrides the configuration.
ok wf gc --status failed
assert_eq "$(ids)" "new-ok" "after gc --status failed"

note "--compact gives the space back"
for i in $(seq 1 30); do ok wf start "$DEFS/three.json" -p log="$log" --run-id "bulk$i"; done
size1=$(stat -c %s "$WF_HOME/store/data.mdb")
ok wf gc --older-than now --compact
assert_contains "$OUT" "deleted 31 runs"
assert_contains "$OUT" "compacted the store"
size2=$(stat -c %s "$WF_HOME/store/data.mdb")
((size2 < size1)) || fail "the store file did not shrink: $size1 -> $size2"
assert_eq "$(ids)" "" "after gc --compact"
ok wf start "$DEFS/three.json" -p log="$log" --run-id after-compact
assert_eq "$(ids)" "after-compact" "a run after compaction"
assert_eq "$(run_status after-compact)" "succeeded" "the run after compaction"

note "--dry-run's table cuts a long id with … as list-runs does; -o ids prints it whole"
long=a-run-id-much-longer-than-its-table-column-of-32
ok wf start "$DEFS/three.json" -p log="$log" --run-id "$long"
ok wf gc --older-than now --status succeeded --dry-run
assert_contains "$OUT" "a-run-id-much-longer-than-its-t…"
assert_not_contains "$OUT" "$long"
ok wf gc --older-than now --status succeeded --dry-run -o ids
assert_contains "$OUT" "$long"
