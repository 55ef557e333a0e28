# After a resume or a restart (--start-from): the run says how many recorded steps it
# reuses and how many it runs, before it executes; a stage whose recorded results are
# reused prints its step count and says they were reused (not "(0 steps)").
source "$(dirname "$0")/lib.sh" "$@"

item_fails=$SCRATCH/item_fails
list_fails=$SCRATCH/list_fails

# ---- resumed after a failed fan-out item ---------------------------------------------------
touch "$item_fails"
expect_exit 1 wf start "$DEFS/reuse.json" --run-id r1 -p item_fails="$item_fails"
assert_contains "$OUT" "stage process failed"
rm "$item_fails"
ok wf resume r1
# fetch and four items of process are recorded; process/3 and sum run.
assert_contains "$OUT" "reusing 5 recorded steps; 2 to run"
grep -qE '^stage fetch succeeded in [0-9.]+s \(1 step, reused\)$' "$OUT" ||
  { show_captured; fail "the reused fetch stage does not say it was reused"; }
grep -qE '^stage process succeeded in [0-9.]+s \(5 steps, 4 reused\)$' "$OUT" ||
  { show_captured; fail "the process stage does not count its 4 reused items"; }
grep -qE '^stage sum succeeded in [0-9.]+s \(1 step\)$' "$OUT" ||
  { show_captured; fail "sum is not shown as executed"; }
# The line comes before anything runs, after the "resumed" line.
assert_eq "$(sed -n 2p "$OUT")" "reusing 5 recorded steps; 2 to run" "second line of the resume"

# ---- restarted from the last stage: everything before it is reused -----------------------
ok wf start "$DEFS/reuse.json" --run-id r1 --start-from sum
assert_contains "$OUT" "reusing 6 recorded steps; 1 to run"
grep -qE '^stage process succeeded in [0-9.]+s \(5 steps, all reused\)$' "$OUT" ||
  { show_captured; fail "the process stage reused whole does not print its recorded 5 steps"; }
grep -qE '^stage fetch succeeded in [0-9.]+s \(1 step, reused\)$' "$OUT" ||
  { show_captured; fail "fetch reused is not shown with its step"; }
assert_not_contains "$OUT" "(0 steps)"

# ---- restarted from the fan-out: it runs again whole ---------------------------------------
ok wf start "$DEFS/reuse.json" --run-id r1 --start-from process
assert_contains "$OUT" "reusing 1 recorded step; 6 to run"
grep -qE '^stage process succeeded in [0-9.]+s \(5 steps\)$' "$OUT" ||
  { show_captured; fail "the process stage run again is not shown executed"; }

# ---- a new run says nothing of reuse -------------------------------------------------------
ok wf start "$DEFS/reuse.json" --run-id r2
assert_not_contains "$OUT" "reusing"

# ---- resumed before the fan-out's list is known: a lower bound ---------------------------
touch "$list_fails"
expect_exit 1 wf start "$DEFS/reuse.json" --run-id r3 -p list_fails="$list_fails"
rm "$list_fails"
ok wf resume r3
assert_contains "$OUT" "reusing 0 recorded steps; at least 2 to run (the list of process is not known yet)"

# ---- -o json keeps stdout for JSON: the line goes to stderr ------------------------------
touch "$item_fails"
expect_exit 1 wf start "$DEFS/reuse.json" --run-id r4 -p item_fails="$item_fails"
rm "$item_fails"
ok wf -o json resume r4
jq -e . "$OUT" >/dev/null || { show_captured; fail "resume -o json does not print JSON alone"; }
assert_contains "$ERR" "reusing 5 recorded steps; 2 to run"
