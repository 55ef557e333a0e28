# Every command answers --help (and -h) with exit 0 and names its options; --version works.
source "$(dirname "$0")/lib.sh" "$@"

ok wf --help
for c in start resume show-run list-runs cancel-run logs list describe; do
  assert_contains "$OUT" "$c"
done
assert_contains "$OUT" "--home"
assert_contains "$OUT" "-o"
ok wf -h
assert_contains "$OUT" "start"

ok wf --version
grep -Eq '[0-9]+\.[0-9]+\.[0-9]+' "$OUT" || fail "wf --version prints no version number"

# check_help CMD OPTION...: `wf CMD --help` and `wf CMD -h` exit 0 and mention every option.
check_help() {
  local cmd=$1 opt
  shift
  ok wf "$cmd" --help
  for opt in "$@"; do assert_contains "$OUT" "$opt"; done
  ok wf "$cmd" -h
  assert_contains "$OUT" "$cmd"
  # Help goes to stdout and needs no store.
  [[ ! -e $WF_HOME ]] || fail "wf $cmd --help created the store"
}

check_help start --run-id -p --start-from --only --skip --to --dry-run --window \
  --continue-on-error --detach
check_help resume --all
check_help show-run --history
check_help list-runs --status --workflow --since --limit
check_help cancel-run
check_help logs --step --tail --follow
check_help list
check_help describe

# --help wins over missing arguments.
ok wf show-run --help

# ---- wf help, and every command's help from the one table ----------------------------------
# The commands `wf --help` lists: every one has a help of its own, the same from `wf help
# CMD` as from `wf CMD --help`, and `wf help` is `wf --help`.
ok wf --help
cp "$OUT" "$SCRATCH/main_help"
mapfile -t COMMANDS < <(sed -n '/^commands:$/,/^$/{/^  [a-z]/p}' "$SCRATCH/main_help" | awk '{print $1}')
((${#COMMANDS[@]} >= 10)) || fail "wf --help lists ${#COMMANDS[@]} commands: ${COMMANDS[*]}"
for c in help completion; do
  [[ " ${COMMANDS[*]} " == *" $c "* ]] || fail "wf --help does not list $c"
done
ok wf help
cmp -s "$OUT" "$SCRATCH/main_help" || fail "wf help differs from wf --help"
for c in "${COMMANDS[@]}"; do
  ok wf help "$c"
  cp "$OUT" "$SCRATCH/help_$c"
  assert_contains "$OUT" "usage: wf $c "
  ok wf "$c" --help
  cmp -s "$OUT" "$SCRATCH/help_$c" || fail "wf help $c differs from wf $c --help"
done
[[ ! -e $WF_HOME ]] || fail "wf help created the store"

note "a mistyped command or option: what was meant, exit 2"
expect_exit 2 wf strat demo
assert_contains "$ERR" 'unknown command "strat": did you mean start?'
expect_exit 2 wf shwo-run x
assert_contains "$ERR" "did you mean show-run?"
expect_exit 2 wf lsit
assert_contains "$ERR" "did you mean list?"
expect_exit 2 wf resum
assert_contains "$ERR" "did you mean resume?"
expect_exit 2 wf help canel-run
assert_contains "$ERR" "did you mean cancel-run?"
expect_exit 2 wf xyzzy
assert_contains "$ERR" 'unknown command "xyzzy"'
assert_not_contains "$ERR" "did you mean"
expect_exit 2 wf start demo --dryrun
assert_contains "$ERR" "unknown option --dryrun: did you mean --dry-run?"
expect_exit 2 wf help start logs
[[ ! -e $WF_HOME ]] || fail "a mistyped command created the store"

note "help ok"
