# Exit 2 for usage and definition errors, 3 for things not found; nothing runs.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log

# ---- usage errors: exit 2 with a message on stderr ----
usage_error() {
  expect_exit 2 "$@"
  [[ -s $ERR ]] || fail "no message on stderr for: $*"
}
usage_error wf
usage_error wf frobnicate
usage_error wf start
usage_error wf start demo --no-such-flag
usage_error wf --no-such-flag list-runs
usage_error wf list-runs --bogus
usage_error wf start demo --run-id
usage_error wf start demo --window
usage_error wf start demo --window 0
usage_error wf start demo --window many
usage_error wf start demo -p
usage_error wf start demo -p novalue
usage_error wf start demo -p =x
usage_error wf show-run
usage_error wf cancel-run
usage_error wf logs
usage_error wf describe
usage_error wf resume
usage_error wf list-runs --limit
usage_error wf list-runs --limit -3
usage_error wf list-runs --status bogus
usage_error wf list-runs --since yesterday-ish
usage_error wf show-run a b

# Bad parameters against a definition's declared params.
P=$DEFS/params.json
usage_error wf start "$P"                            # day is required
assert_contains "$ERR" "day"
usage_error wf start "$P" -p day=2024-02-30          # no such date
usage_error wf start "$P" -p day=20240201
usage_error wf start "$P" -p day=2024-02-01 -p n=abc
assert_contains "$ERR" "n"
usage_error wf start "$P" -p day=2024-02-01 -p flag=maybe
usage_error wf start "$P" -p day=2024-02-01 -p zzz=1  # not declared
assert_contains "$ERR" "zzz"
ok wf start "$P" -p day=2024-02-29 -p name="two words" --run-id p1
run_json p1
assert_json "$SCRATCH/run.json" '.params.day == "2024-02-29" and .params.n == 3 and .params.name == "two words"'
assert_json "$SCRATCH/run.json" '.steps[0].output == {"day":"2024-02-29","n":3,"name":"two words"}'

# Stage selection naming unknown stages, or conflicting.
T=$DEFS/three.json
usage_error wf start "$T" -p log="$log" --only nosuch
usage_error wf start "$T" -p log="$log" --skip nosuch
usage_error wf start "$T" -p log="$log" --start-from nosuch
usage_error wf start "$T" -p log="$log" --to nosuch
usage_error wf start "$T" -p log="$log" --only b --skip b

# Invalid definitions: exit 2, the message names the file and what is wrong.
for f in "$DEFS"/invalid/*.json; do
  name=$(basename "$f")
  expect_exit 2 wf start "$f"
  assert_contains "$ERR" "$name"
done
expect_exit 2 wf start "$DEFS/invalid/unknown_field.json"
assert_contains "$ERR" "neeeds"
expect_exit 2 wf start "$DEFS/invalid/unknown_top_field.json"
assert_contains "$ERR" "stagez"
expect_exit 2 wf start "$DEFS/invalid/cycle.json"
assert_icontains "$ERR" "cycle"
expect_exit 2 wf start "$DEFS/invalid/unknown_needs.json"
assert_contains "$ERR" "nosuchstage"
expect_exit 2 wf start "$DEFS/invalid/bad_interp.json"
assert_contains "$ERR" "undeclared"
expect_exit 2 wf start "$DEFS/invalid/foreach_no_key.json"
assert_contains "$ERR" "key"
expect_exit 2 wf start "$DEFS/invalid/syntax.json"
grep -Eq 'syntax\.json(:| )+[0-9]+:[0-9]+' "$ERR" || { show_captured; fail "no file line:column for a JSON syntax error"; }
expect_exit 2 wf describe "$DEFS/invalid/cycle.json"

# None of that created a run, nor ran anything.
ok wf list-runs -o ids
assert_eq "$(grep -vc '^p1$' "$OUT" || true)" 0 "runs created by failed starts"
[[ ! -e $log ]] || fail "a step ran although its start was refused"

# ---- not found: exit 3 ----
expect_exit 3 wf show-run no-such-run
assert_contains "$ERR" "no-such-run"
expect_exit 3 wf resume no-such-run
expect_exit 3 wf cancel-run no-such-run
expect_exit 3 wf logs no-such-run
expect_exit 3 wf start no-such-workflow
assert_contains "$ERR" "no-such-workflow"
expect_exit 3 wf start ./missing/file.json
assert_contains "$ERR" "file.json"
expect_exit 3 wf describe no-such-workflow

# ---- a run id may not be reused without --start-from; cancel-run on a finished run ----
ok wf start "$T" -p log="$log" --run-id r1
expect_exit 2 wf start "$T" -p log="$log" --run-id r1
assert_contains "$ERR" "r1"
expect_exit 2 wf cancel-run r1
assert_contains "$ERR" "r1"
expect_exit 2 wf start "$T" -p log="$log" --run-id 'bad id'
expect_exit 2 wf start "$T" -p log="$log" --run-id 'bad/id'
expect_exit 2 wf start "$T" -p log="$log" --run-id "$(printf 'x%.0s' {1..300})"

note "usage and not-found errors ok"
