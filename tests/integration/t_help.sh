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

note "help ok"
