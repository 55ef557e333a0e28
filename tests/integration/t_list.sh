# wf list and wf describe: bundled definitions, ./workflows, and paths.
source "$(dirname "$0")/lib.sh" "$@"

ok wf list
assert_contains "$OUT" "demo"

# describe demo names every stage and parameter of the bundled definition.
ok wf describe demo
demo_def=$TESTS/../workflows/bundled/demo.json
if [[ -f $demo_def ]]; then
  for s in $(jq -r '.stages[].id' "$demo_def"); do assert_contains "$OUT" "$s"; done
  for p in $(jq -r '.params // {} | keys[]' "$demo_def"); do assert_contains "$OUT" "$p"; done
fi

# describe a definition by path: params with types, required/default, stages with needs.
ok wf describe "$DEFS/params.json"
for t in day date n int 3 flag bool name string world echo; do assert_contains "$OUT" "$t"; done
assert_icontains "$OUT" "required"
ok wf describe "$DEFS/gate.json"
for t in list work done '${stages.list.output}'; do assert_contains "$OUT" "$t"; done

# A definition in ./workflows is found by name, listed, described and started.
mkdir -p workflows
jq '.name = "mine" | .description = "my own three stages"' "$DEFS/three.json" >workflows/mine.json
cp "$DEFS/step.sh" workflows/
ok wf list
assert_contains "$OUT" "mine"
assert_contains "$OUT" "my own three stages"
assert_contains "$OUT" "demo"
ok wf describe mine
for t in a b c log; do assert_contains "$OUT" "$t"; done
ok wf start mine -p log="$SCRATCH/log" --run-id m1
assert_eq "$(tr '\n' ' ' <"$SCRATCH/log")" "a b c " "stages run by workflow mine"
assert_eq "$(wf show-run m1 -o json | jq -r .workflow)" mine "workflow of run m1"
ok wf list-runs -o ids --workflow mine
assert_eq "$(cat "$OUT")" "m1" "list-runs --workflow mine"

note "list and describe ok"
