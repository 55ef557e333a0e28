# A failed step's last stderr lines are shown where its failure is: under the failure line
# of start's progress and under the step in show-run's table; a few lines, trimmed, with
# control characters escaped.
source "$(dirname "$0")/lib.sh" "$@"

# "work" writes 8 lines, a terminal escape, a long line and blank lines, then exits 7;
# "ok" writes a line and succeeds.
cat >"$SCRATCH/tb.json" <<'JSON'
{ "name": "tb", "version": 1, "description": "a step that fails with a traceback",
  "defaults": { "retry": { "max_attempts": 2, "initial_interval_s": 0 } },
  "stages": [
    { "id": "ok", "run": ["sh", "-c", "echo marker-ok-stderr >&2; echo 1"] },
    { "id": "work", "needs": ["ok"], "run": ["sh", "${workflow.dir}/tb.sh"] } ] }
JSON
cat >"$SCRATCH/tb.sh" <<'SH'
for i in 1 2 3 4 5 6 7 8; do echo "early line $i" >&2; done
printf 'Traceback (most recent call last):\n' >&2
printf '  File "job.py", line 3, in <module>\n' >&2
printf '\tcolour \033[31mred\033[0m here\n' >&2
long=$(printf 'x%.0s' $(seq 1 600))
printf 'ValueError: boom %s-end\n\n   \n' "$long" >&2
exit 7
SH

expect_exit 1 wf start "$SCRATCH/tb.json" --run-id T
# The failure line, then the step's last lines, indented, before the stage's line.
failure=$(grep -n '^step work failed (attempt 2): exited with code 7$' "$OUT" | cut -d: -f1)
[[ -n $failure ]] || { show_captured; fail "no failure line for step work"; }
sed -n "$((failure + 1)),\$p" "$OUT" >"$SCRATCH/after"
grep -q '^    ValueError: boom x' "$SCRATCH/after" || { show_captured; fail "the failure line does not show the step's last stderr line"; }
grep -q '^    Traceback (most recent call last):$' "$SCRATCH/after" || { show_captured; fail "no Traceback line under the failure"; }
grep -q '^    early line 8$' "$SCRATCH/after" || { show_captured; fail "no 'early line 8' under the failure"; }
assert_not_contains "$OUT" "early line 7"   # at most 5 lines
assert_not_contains "$OUT" "-end"           # a long line is cut
assert_contains "$OUT" '\x1b[31mred\x1b[0m' # escapes shown, not sent to the terminal
grep -q $'\033' "$OUT" && { show_captured; fail "a control character of the step's stderr reached the terminal"; }
assert_not_contains "$OUT" "marker-ok-stderr"  # a step that succeeded shows nothing
# The retried attempt's line shows no tail; the tail stands before the stage's line.
stage=$(grep -n '^stage work failed' "$OUT" | cut -d: -f1)
((stage > failure + 5)) || { show_captured; fail "the tail does not come between the failure and the stage line"; }
(( $(wc -c <"$SCRATCH/after") < 1200 )) || { show_captured; fail "the tail is more than a few hundred bytes"; }

# show-run: the same lines under the failed step of the table.
ok wf show-run T
row=$(awk '/^STEP / { on = 1 } on && /^work +failed/ { print NR; exit }' "$OUT")
[[ -n $row ]] || { show_captured; fail "no row for step work"; }
sed -n "$((row + 1)),$((row + 5))p" "$OUT" >"$SCRATCH/rows"
assert_contains "$SCRATCH/rows" "    Traceback (most recent call last):"
assert_contains "$SCRATCH/rows" "    ValueError: boom x"
assert_contains "$SCRATCH/rows" "    early line 8"
assert_not_contains "$OUT" "early line 7"
assert_not_contains "$OUT" "marker-ok-stderr"
grep -q $'\033' "$OUT" && { show_captured; fail "show-run printed a control character of the step's stderr"; }
# -o json keeps the whole tail.
run_json T
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "work") | .stderr_tail | contains("early line 1") and contains("-end")'

# A fan-out with many failures under --continue-on-error shows the tails of the first few
# only, and says where the others are.
cat >"$SCRATCH/many.json" <<'JSON'
{ "name": "many", "version": 1, "description": "thirty failing items",
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [
    { "id": "list", "run": ["sh", "-c", "echo '[' $(seq -s, 1 30) ']'"] },
    { "id": "w", "needs": ["list"], "foreach": "${stages.list.output}", "key": "${item}",
      "run": ["sh", "-c", "echo \"item $1 broke\" >&2; exit 3", "sh", "${item}"] } ] }
JSON
expect_exit 4 wf start "$SCRATCH/many.json" --run-id M --continue-on-error --window 1
n=$(grep -c '^    item [0-9]* broke$' "$OUT" || true)
((n > 0 && n <= 10)) || { show_captured; fail "$n tails shown for 30 failed steps (want 1 to 10)"; }
assert_contains "$OUT" "wf logs M"
ok wf show-run M
n=$(grep -c '^    item [0-9]* broke$' "$OUT" || true)
((n > 0 && n <= 10)) || { show_captured; fail "show-run shows $n tails for 30 failed steps (want 1 to 10)"; }
assert_contains "$OUT" "wf logs M"

note "failure tails ok"
