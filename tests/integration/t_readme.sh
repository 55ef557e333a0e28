# The README's commands work as written: the hello workflow, --dry-run, kill -9 and resume.
source "$(dirname "$0")/lib.sh" "$@"

readme=$TESTS/../README.md
[[ -f $readme ]] || fail "no README.md next to tests/"

# The first json block after "Write your own workflow" is the hello example.
mkdir -p workflows
awk '/^### Write your own workflow/ { s = 1 } s && /^```json/ { b = 1; next } b && /^```/ { exit } b' \
  "$readme" >workflows/hello.json
jq -e '.name == "hello"' workflows/hello.json >/dev/null || fail "no hello example found in README.md"

ok wf describe hello
for t in people greet save greeting; do assert_contains "$OUT" "$t"; done
ok wf start hello -p greeting=Hi --run-id hi
run_json hi
j=$SCRATCH/run.json
assert_json "$j" '.status == "succeeded"'
assert_json "$j" '.steps[] | select(.key == "greet/Ada") | .output == "Hi, Ada!"'
assert_json "$j" '[.steps[] | select(.key | startswith("greet/"))] | length == 3'
saved="$(json_get "$j" .run_dir)/greetings.json"
[[ -f $saved ]] || fail "the save stage did not write $saved"
jq -e '.inputs.greet == {"Ada": "Hi, Ada!", "Grace": "Hi, Grace!", "Linus": "Hi, Linus!"}' "$saved" >/dev/null ||
  { cat "$saved" >&2; fail "greetings.json does not hold the greet map"; }

# The demo, as the tour runs it: a dry run, a run killed with -9, a resume, a rerun.
ok wf start demo --dry-run
ok wf list-runs -o ids
assert_eq "$(cat "$OUT")" "hi" "runs after a dry run"
start_bg "$SCRATCH/crashy.out" start demo --run-id crashy
sleep 1
kill -9 "$BG"
wait "$BG" 2>/dev/null || true
# Steps of a killed process stop on their own (process.sh sleeps < 0.5 s).
sleep 0.6
assert_eq "$(run_status crashy)" interrupted "status after kill -9"
ok wf resume crashy
assert_eq "$(run_status crashy)" succeeded "status after resume"
ok wf start demo --run-id crashy --start-from summarize
ok wf logs crashy --step process/Tokyo
assert_contains "$OUT" "Tokyo"
ok wf show-run crashy -o json
report="$(json_get "$OUT" .run_dir)/report.md"
[[ -s $report ]] || fail "the demo wrote no $report"

note "README examples ok"
