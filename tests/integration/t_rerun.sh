# A run id cannot be started twice, except with --start-from, which keeps the stages before
# it and executes that stage and everything after it again; --only/--skip/--to/--dry-run.
source "$(dirname "$0")/lib.sh" "$@"

T=$DEFS/three.json
log=$SCRATCH/log

ok wf start "$T" --run-id R -p log="$log"
assert_eq "$(tr '\n' ' ' <"$log")" "a b c " "first run"
gen1=$(json_get <(wf show-run R -o json) .generation)

# Same id again: refused, nothing executed.
expect_exit 2 wf start "$T" --run-id R -p log="$log"
assert_icontains "$ERR" "start-from"
assert_eq "$(lines "$log")" 3 "lines after a refused start"

# --start-from b: a is reused, b and c execute again.
: >"$log"
ok wf start "$T" --run-id R -p log="$log" --start-from b
assert_eq "$(tr '\n' ' ' <"$log")" "b c " "--start-from b"
run_json R --history
j=$SCRATCH/run.json
assert_json "$j" '.status == "succeeded"'
assert_json "$j" ".generation > $gen1"
# The new b saw the file with one line (b), the reused a keeps its first output (n=1).
assert_json "$j" '.steps[] | select(.key == "a") | .output == {"stage":"a","n":1}'
assert_json "$j" '.steps[] | select(.key == "b") | .output == {"stage":"b","n":1}'
assert_json "$j" '.steps[] | select(.key == "c") | .output == {"stage":"c","n":2}'
# The earlier b is still in the history: b has more events than a, which ran once.
assert_json "$j" '([.events[] | select(.step == "b")] | length) > ([.events[] | select(.step == "a")] | length)'

# --start-from c on the same run.
: >"$log"
ok wf start "$T" --run-id R -p log="$log" --start-from c
assert_eq "$(tr '\n' ' ' <"$log")" "c " "--start-from c"

# --start-from a: everything again.
: >"$log"
ok wf start "$T" --run-id R -p log="$log" --start-from a
assert_eq "$(tr '\n' ' ' <"$log")" "a b c " "--start-from a"

# ---- stage selection on new runs ----
# c needs b: a plan that leaves b out of a new run is refused (t_selection.sh).
: >"$log"
expect_exit 2 wf start "$T" -p log="$log" --only a,c --run-id only
expect_exit 2 wf start "$T" -p log="$log" --skip b --run-id skip
ok wf start "$T" -p log="$log" --only a --run-id only
assert_eq "$(tr '\n' ' ' <"$log")" "a " "--only a"
run_json only
assert_json "$SCRATCH/run.json" '[.steps[] | select(.key == "b" or .key == "c")] == []'

: >"$log"
ok wf start "$T" -p log="$log" --to b --run-id to
assert_eq "$(tr '\n' ' ' <"$log")" "a b " "--to b"
run_json to
assert_json "$SCRATCH/run.json" '[.steps[] | select(.status == "succeeded") | .key] | sort == ["a","b"]'

: >"$log"
ok wf start "$T" -p log="$log" --run-id onlyto --only a
: >"$log"
ok wf start "$T" -p log="$log" --run-id onlyto --start-from b --only b --to c
assert_eq "$(tr '\n' ' ' <"$log")" "b " "--only b --to c"

# --dry-run: prints the plan, executes nothing.
: >"$log"
ok wf start "$T" -p log="$log" --dry-run
for s in a b c; do grep -qw "$s" "$OUT" || { show_captured; fail "--dry-run does not show stage $s"; }; done
assert_eq "$(lines "$log")" 0 "steps executed by --dry-run"
ok wf start "$T" -p log="$log" --dry-run --skip c
assert_eq "$(lines "$log")" 0 "steps executed by --dry-run --skip c"
# Dry runs are checked like real ones.
expect_exit 2 wf start "$T" --dry-run
expect_exit 2 wf start "$DEFS/invalid/cycle.json" --dry-run
# On an existing run a dry run says what it has recorded and what would run again, and
# is refused where the start would be; the store is left as it was.
store_dump() { mdb_dump -a "$WF_HOME/store"; cat "$WF_HOME/store/data.mdb"; }
if command -v mdb_dump >/dev/null; then before=$(store_dump | md5sum); fi
ok wf start "$T" -p log="$log" --run-id R --start-from b --dry-run
assert_contains "$OUT" "run R (succeeded)"
grep -Eq '^ +a +recorded, reused$' "$OUT" || { show_captured; fail "dry run: a is not shown as reused"; }
grep -Eq '^ +b +runs again \(--start-from\): 1 recorded step executed again$' "$OUT" ||
  { show_captured; fail "dry run: b is not shown as running again"; }
grep -Eq '^ +c +runs again' "$OUT" || { show_captured; fail "dry run: c is not shown as running again"; }
expect_exit 2 wf start "$T" -p log="$log" --run-id R --dry-run
assert_icontains "$ERR" "already exists"
expect_exit 2 wf start "$DEFS/half.json" --run-id R --start-from b --dry-run
assert_contains "$ERR" "run of workflow"
ok wf start "$T" -p log="$log" --run-id fresh-dry --dry-run
grep -Eq '^ +a +runs$' "$OUT" || { show_captured; fail "dry run of a new run id: a does not just run"; }
assert_not_contains "$OUT" "recorded"
if command -v mdb_dump >/dev/null; then
  assert_eq "$(store_dump | md5sum)" "$before" "store after dry runs"
fi
expect_exit 3 wf show-run fresh-dry
assert_eq "$(lines "$log")" 0 "steps executed by dry runs on an existing run"

note "rerun and selection ok"
