# Which store a command uses: --home, then WF_HOME, then home in the configuration file
# ($XDG_CONFIG_HOME/wf/config, else ~/.config/wf/config), then the nearest .wf in the
# current folder or above, then ./.wf; show-run says which and why. A bad configuration
# file exits 2 and creates nothing.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
unset WF_HOME XDG_CONFIG_HOME
export HOME=$SCRATCH/user
mkdir -p "$HOME" "$SCRATCH/proj/a/b" "$SCRATCH/elsewhere"

note "default: ./.wf"
cd "$SCRATCH/elsewhere"
ok wf start "$DEFS/three.json" -p log="$log" --run-id here
[[ -d $SCRATCH/elsewhere/.wf/store ]] || fail "no ./.wf store was created"
ok wf show-run here
assert_contains "$OUT" "store     .wf (.wf in the current folder)"

note "the nearest .wf above, as git finds .git"
mkdir -p "$SCRATCH/proj/.wf"
cd "$SCRATCH/proj/a/b"
ok wf start "$DEFS/three.json" -p log="$log" --run-id up
[[ -d $SCRATCH/proj/.wf/store ]] || fail "the run did not go to the .wf above"
[[ ! -e $SCRATCH/proj/a/b/.wf ]] || fail "a .wf was created in the current folder"
ok wf show-run up
assert_contains "$OUT" "store     $SCRATCH/proj/.wf (the nearest .wf above the current folder"
ok wf list-runs -o ids
assert_eq "$(cat "$OUT")" "up" "runs of the .wf above"

note "home in the configuration file wins over .wf folders"
mkdir -p "$HOME/.config/wf"
printf '# my store\nhome = ~/stores/main\n' >"$HOME/.config/wf/config"
ok wf start "$DEFS/three.json" -p log="$log" --run-id conf
[[ -d $HOME/stores/main/store ]] || fail "the run did not go to the configured home"
ok wf show-run conf
assert_contains "$OUT" "store     $HOME/stores/main (home in $HOME/.config/wf/config:2)"
# XDG_CONFIG_HOME names the folder of the file instead of ~/.config.
mkdir -p "$SCRATCH/xdg/wf"
printf 'home = %s\n' "$SCRATCH/xdgstore" >"$SCRATCH/xdg/wf/config"
XDG_CONFIG_HOME=$SCRATCH/xdg ok wf start "$DEFS/three.json" -p log="$log" --run-id xdg
[[ -d $SCRATCH/xdgstore/store ]] || fail "XDG_CONFIG_HOME was not followed"

note "WF_HOME wins over the configuration, --home over WF_HOME"
WF_HOME=$SCRATCH/envstore ok wf start "$DEFS/three.json" -p log="$log" --run-id env
WF_HOME=$SCRATCH/envstore ok wf show-run env
assert_contains "$OUT" "(from WF_HOME)"
WF_HOME=$SCRATCH/envstore ok wf --home "$SCRATCH/proj/.wf" show-run up
assert_contains "$OUT" "(given by --home)"

note "a bad configuration file: exit 2, nothing created"
printf 'home\n' >"$HOME/.config/wf/config"
rm -rf "$HOME/stores"
expect_exit 2 wf start "$DEFS/three.json" -p log="$log" --run-id bad
assert_contains "$ERR" "config:1: expected \"key = value\""
expect_exit 2 wf list-runs
[[ ! -e $HOME/stores ]] || fail "a store was created despite the bad configuration"
printf 'home =\n' >"$HOME/.config/wf/config"
expect_exit 2 wf list-runs
assert_contains "$ERR" "home has no value"
printf 'colour = blue\nhome = %s\n' "$SCRATCH/proj/.wf" >"$HOME/.config/wf/config"
ok wf list-runs -o ids
assert_contains "$ERR" "unknown key \"colour\" ignored"
assert_eq "$(cat "$OUT")" "up" "runs with a configuration with an unknown key"
# --home does not need the configuration.
printf 'home\n' >"$HOME/.config/wf/config"
ok wf --home "$SCRATCH/proj/.wf" list-runs -o ids
