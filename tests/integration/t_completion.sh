# `wf completion bash|zsh` prints a script that completes commands, each command's options,
# option values, workflow names and run ids (from the store --home names on the line).
source "$(dirname "$0")/lib.sh" "$@"

DEF=$SCRATCH/one.json
cat >"$DEF" <<'JSON'
{ "name": "one", "version": 1, "stages": [ { "id": "a", "run": ["echo", "1"] } ] }
JSON
ok wf start "$DEF" --run-id nightly-2026-01-01
ok wf start "$DEF" --run-id nightly-2026-01-02
ok wf start "$DEF" --run-id other-run
ok wf --home "$SCRATCH/second" start "$DEF" --run-id elsewhere-run

ok wf completion bash
cp "$OUT" "$SCRATCH/wf.bash"
bash -n "$SCRATCH/wf.bash" || fail "the bash completion script has a syntax error"

# complete WORDS...: what the script completes for the last word, a line each, sorted.
complete() {
  bash -c '
    source "$1"
    COMP_WORDS=("${@:2}")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _wf_complete
    printf "%s\n" "${COMPREPLY[@]}"' sh "$SCRATCH/wf.bash" "$WF" "$@" </dev/null 2>"$ERR" |
    { grep . || true; } | sort
}
# expect_completion WANT WORDS...: the completions, space-separated, are WANT.
expect_completion() {
  local want=$1 got
  shift
  got=$(complete "$@" | tr '\n' ' ')
  assert_eq "${got% }" "$want" "completion of 'wf $*'"
}

expect_completion "nightly-2026-01-01 nightly-2026-01-02" show-run nig
expect_completion "nightly-2026-01-01 nightly-2026-01-02 other-run" resume ""
expect_completion "other-run" logs ot
expect_completion "elsewhere-run" --home "$SCRATCH/second" show-run e
expect_completion "start" sta
expect_completion "show-run" --home "$SCRATCH/second" show
expect_completion "--dry-run" start "$DEF" --dr
expect_completion "--follow" logs x --fo
expect_completion "failed" list-runs --status fa
expect_completion "json" -o js
expect_completion "json" list -o js
expect_completion "demo" start dem
expect_completion "completion" help comp
expect_completion "bash" completion ba
# -p takes a value of the user's own: nothing is offered
expect_completion "" start demo -p ""
# every command of the help is completed
mapfile -t COMMANDS < <("$WF" --help | sed -n '/^commands:$/,/^$/{/^  [a-z]/p}' | awk '{print $1}')
got=$(complete "" | tr '\n' ' ')
want=$(printf '%s\n' "${COMMANDS[@]}" | sort | tr '\n' ' ')
assert_eq "$got" "$want" "completion of the commands"
# every option of each command's help is completed
for c in "${COMMANDS[@]}"; do
  got=" $(complete "$c" - | tr '\n' ' ')"
  for o in $("$WF" "$c" --help | sed -n '/^options:$/,$p' | grep -oE '^  (-[a-z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
    [[ $got == *" $o "* ]] || fail "completion of 'wf $c -' lacks $o (got:$got)"
  done
done
note "bash completion ok"

ok wf completion zsh
cp "$OUT" "$SCRATCH/_wf"
assert_contains "$SCRATCH/_wf" "#compdef wf"
if command -v zsh >/dev/null; then
  zsh -n "$SCRATCH/_wf" || fail "the zsh completion script has a syntax error"
  # Loaded after compinit, it completes wf; outside of a completion (no real line to
  # complete here) zsh's compgen does not filter by the word, so the run ids are looked
  # for among what it offers.
  got=$(zsh -fc '
    autoload -U compinit && compinit -u
    source "$1"
    print -r -- "comps=${_comps[wf]}"
    setopt ksharrays
    COMP_WORDS=("$2" show-run nig); COMP_CWORD=2
    _wf_complete
    print -l "${COMPREPLY[@]}"' sh "$SCRATCH/_wf" "$WF" 2>&1)
  [[ $got == *"comps=_bash_complete -F _wf_complete"* ]] ||
    fail "the zsh script does not complete wf: $got"
  [[ $got == *nightly-2026-01-01* && $got == *nightly-2026-01-02* ]] ||
    fail "the zsh script offers no run ids: $got"
  note "zsh completion ok"
else
  note "zsh is not installed: the zsh script is not run"
fi

expect_exit 2 wf completion fish
assert_contains "$ERR" "bash or zsh"
expect_exit 2 wf completion
