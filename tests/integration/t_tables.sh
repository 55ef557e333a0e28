# Tables measure text in terminal columns (São Paulo 9, 東京 4), cut ids too long for their
# column with … (never in -o json or ids); -o follows one rule: a command refuses a format
# it does not print; status words are coloured on a terminal, never with TERM=dumb or
# NO_COLOR.
source "$(dirname "$0")/lib.sh" "$@"
export LC_ALL=C.UTF-8   # for wc -L, which counts columns

long=run-with-an-id-much-longer-than-its-column
ok wf start "$DEFS/wide.json" --run-id "$long"

note "show-run: every STATUS cell starts at the same column"
ok wf show-run "$long"
grep -E '^work/' "$OUT" >"$SCRATCH/rows"
assert_eq "$(lines "$SCRATCH/rows")" 5 "step rows of work"
widths=$(sed 's/succeeded.*//' "$SCRATCH/rows" | while IFS= read -r l; do printf '%s\n' "$l" | wc -L; done | sort -u)
assert_eq "$widths" 41 "columns before STATUS in every row"
assert_contains "$OUT" "work/São Paulo"
assert_contains "$OUT" "work/東京"
grep -q '^work/an-item-key-far-too-long-for-the-s… succeeded' "$OUT" ||
  { show_captured; fail "the long key is not cut to 40 columns with …"; }
ok wf show-run "$long" -o json
assert_json "$OUT" 'any(.steps[]; .key == "work/an-item-key-far-too-long-for-the-step-column-of-a-table")'
assert_not_contains "$OUT" "…"

note "list-runs: the long run id is cut in the table, whole in -o ids and json"
ok wf list-runs
grep -q '^run-with-an-id-much-longer-than… wide ' "$OUT" || { show_captured; fail "run id not cut to 32 columns"; }
ok wf list-runs -o ids
assert_eq "$(cat "$OUT")" "$long" "list-runs -o ids"
ok wf list-runs -o json
assert_json "$OUT" '.[0].id == "'"$long"'"'

note "one rule for -o: a format a command does not print is refused"
for args in "show-run $long -o ids" "describe $DEFS/wide.json -o ids" "explain $long work/x -o ids" \
  "logs $long -o json" "logs $long -o ids" "cancel-run $long -o json"; do
  # shellcheck disable=SC2086
  expect_exit 2 wf $args
  assert_contains "$ERR" "not $(sed 's/.*-o //' <<<"$args")"
done
assert_contains "$ERR" "cancel-run prints text, not json"
ok wf describe "$DEFS/wide.json" -o json
ok wf list -o ids
ok wf logs "$long" -o table

note "colour: status words on a terminal; never with TERM=dumb or NO_COLOR"
command -v script >/dev/null || skip "script (util-linux) is needed to run wf on a terminal"
on_tty() { script -q -e -c "$*" /dev/null </dev/null >"$OUT" 2>&1; }
on_tty env -u NO_COLOR TERM=xterm "$WF" list-runs
assert_contains "$OUT" $'\e[32msucceeded\e[0m'
on_tty env -u NO_COLOR TERM=xterm "$WF" show-run "$long"
assert_contains "$OUT" $'status    \e[32msucceeded\e[0m'
assert_contains "$OUT" $'\e[32msucceeded\e[0m       '
on_tty env -u NO_COLOR TERM=dumb "$WF" show-run "$long"
assert_contains "$OUT" "succeeded"
assert_not_contains "$OUT" $'\e['
on_tty env TERM=xterm NO_COLOR=1 "$WF" list-runs
assert_not_contains "$OUT" $'\e['
on_tty env -u NO_COLOR TERM=dumb "$WF" start "$DEFS/three.json" -p log="$SCRATCH/log"
assert_not_contains "$OUT" $'\e['

note "tables ok"
