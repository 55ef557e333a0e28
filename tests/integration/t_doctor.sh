# wf doctor: exit 0 when nothing is wrong, 1 when a problem is found, each problem named
# with what to do; -o json too. wf doctor WORKFLOW also checks its programs (on PATH), the
# environment variables it declares ("env", which wf start and --dry-run check too: exit 2
# naming them, nothing recorded) and its parameters.
source "$(dirname "$0")/lib.sh" "$@"

# no_problem: the last doctor found nothing wrong.
no_problem() { assert_contains "$OUT" "no problem found"; assert_not_contains "$OUT" "PROBLEM"; }

note "no store yet: nothing wrong, and nothing created"
ok wf doctor
assert_contains "$OUT" "store: $WF_HOME"
assert_contains "$OUT" "no store at"
no_problem
[[ ! -e $WF_HOME ]] || fail "wf doctor created the store"

DEF=$SCRATCH/one.json
cat >"$DEF" <<'JSON'
{ "name": "one", "version": 1, "stages": [ { "id": "a", "run": ["echo", "1"] } ] }
JSON
ok wf start "$DEF" --run-id healthy

note "a healthy store"
ok wf doctor
assert_contains "$OUT" "store: $(cd "$WF_HOME" && pwd -P)"
for c in store schema disk readers runs orphans files; do
  grep -Eq "^ok +$c " "$OUT" || { show_captured; fail "no ok line for the $c check"; }
done
no_problem
ok wf doctor -o json
assert_json "$OUT" '.ok == true and .problems == 0 and (.store | length > 0)'
assert_json "$OUT" '[.findings[] | select(.level == "problem")] | length == 0'
assert_json "$OUT" '[.findings[].check] | index("orphans") != null'

note "a log folder and a run folder without a run"
mkdir -p "$WF_HOME/logs/ghost-run" "$WF_HOME/runs/other-ghost"
expect_exit 1 wf doctor
assert_contains "$OUT" "PROBLEM  orphans"
assert_contains "$OUT" "$WF_HOME/logs/ghost-run"
assert_contains "$OUT" "$WF_HOME/runs/other-ghost"
assert_contains "$OUT" "what to do: look at them, and remove those not wanted: rm -r"
assert_contains "$OUT" "1 problem found"
expect_exit 1 wf doctor -o json
assert_json "$OUT" '.ok == false and .problems == 1'
assert_json "$OUT" '.findings[] | select(.check == "orphans") | .level == "problem" and (.message | contains("ghost-run")) and (.fix | length > 0)'
rm -r "$WF_HOME/logs/ghost-run" "$WF_HOME/runs/other-ghost"
ok wf doctor

note "an interrupted run waits for resume --all"
SLOW=$SCRATCH/slow.json
cat >"$SLOW" <<JSON
{ "name": "slow", "version": 1,
  "stages": [ { "id": "nap", "run": ["sh", "-c", "[ -e $SCRATCH/go ] || sleep 30; echo 1"] } ] }
JSON
start_bg "$SCRATCH/slow.out" start "$SLOW" --run-id stopped-run
wait_status stopped-run running 10
crash "$BG"
expect_exit 1 wf doctor
assert_contains "$OUT" "PROBLEM  runs"
assert_contains "$OUT" "stopped-run"
assert_contains "$OUT" "wf resume --all"
touch "$SCRATCH/go"
ok wf resume --all
ok wf doctor
no_problem

note "wf doctor WORKFLOW: programs, environment variables, parameters"
NEEDS=$SCRATCH/needs.json
cat >"$NEEDS" <<'JSON'
{ "name": "needs", "version": 1, "env": ["WF_TEST_TOKEN", "WF_TEST_SECRET"],
  "params": { "day": { "type": "date", "required": true } },
  "stages": [
    { "id": "a", "run": ["wf-no-such-program", "x"] },
    { "id": "b", "run": ["sh", "-c", "echo 1"], "needs": ["a"] },
    { "id": "c", "run": ["${workflow.dir}/missing-tool.sh"], "needs": ["b"] },
    { "id": "d", "shell": "echo 1", "needs": ["c"] }
  ] }
JSON
unset WF_TEST_TOKEN WF_TEST_SECRET
expect_exit 1 wf doctor "$NEEDS"
assert_contains "$OUT" "stage a runs wf-no-such-program, which is not found on PATH"
assert_contains "$OUT" "install it, or add its folder to PATH"
assert_contains "$OUT" "stage c runs $SCRATCH/missing-tool.sh, which is not an executable file"
grep -Eq '^ok +program +stage b runs sh ' "$OUT" || { show_captured; fail "sh is not found on PATH"; }
assert_contains "$OUT" "WF_TEST_TOKEN is not set"
assert_contains "$OUT" "WF_TEST_SECRET is not set"
assert_contains "$OUT" "export WF_TEST_TOKEN=..."
assert_contains "$OUT" "day (date) is required"
assert_contains "$OUT" "4 problems found"
expect_exit 1 wf doctor "$NEEDS" -p day=2024-02-30
assert_contains "$OUT" "PROBLEM  params"
assert_contains "$OUT" "day"
ok wf doctor "$DEF"
no_problem
expect_exit 3 wf doctor no-such-workflow
expect_exit 2 wf doctor -o ids
expect_exit 2 wf doctor "$DEF" "$NEEDS"

note "wf start and --dry-run refuse a start without the declared environment"
runs_before=$("$WF" list-runs -o ids | wc -l)
expect_exit 2 wf start "$NEEDS" -p day=2024-02-01 --run-id no-env
assert_contains "$ERR" "WF_TEST_TOKEN, WF_TEST_SECRET"
assert_contains "$ERR" "nothing was recorded"
expect_exit 2 wf start "$NEEDS" -p day=2024-02-01 --dry-run
assert_contains "$ERR" "WF_TEST_TOKEN"
WF_TEST_TOKEN=t expect_exit 2 wf start "$NEEDS" -p day=2024-02-01 --run-id no-env
assert_contains "$ERR" "variable WF_TEST_SECRET, which is not set"
assert_not_contains "$ERR" "WF_TEST_TOKEN"
WF_TEST_TOKEN=t WF_TEST_SECRET= expect_exit 2 wf start "$NEEDS" -p day=2024-02-01
assert_contains "$ERR" "WF_TEST_SECRET"
assert_eq "$("$WF" list-runs -o ids | wc -l)" "$runs_before" "runs after refused starts"
[[ ! -e $WF_HOME/runs/no-env ]] || fail "a refused start made the run's folder"
ENVOK=$SCRATCH/envok.json
jq '.env = ["WF_TEST_TOKEN"]' "$DEF" >"$ENVOK"
WF_TEST_TOKEN=t ok wf start "$ENVOK" --dry-run
WF_TEST_TOKEN=t ok wf start "$ENVOK" --run-id with-env
WF_TEST_TOKEN=t ok wf doctor "$ENVOK"
no_problem
ok wf describe "$ENVOK" -o json
assert_json "$OUT" '.env == ["WF_TEST_TOKEN"]'
for bad in '"WF_TEST_TOKEN"' '["1ABC"]' '["A B"]' '[""]' '[3]' '["X", "X"]'; do
  jq ".env = $bad" "$DEF" >"$SCRATCH/bad_env.json"
  expect_exit 2 wf start "$SCRATCH/bad_env.json"
  assert_contains "$ERR" '"env"'
done

note "a process with few open files"
RC=0
bash -c 'ulimit -n 100 && exec "$0" doctor' "$WF" >"$OUT" 2>"$ERR" </dev/null || RC=$?
assert_eq "$RC" 1 "exit code of doctor under ulimit -n 100"
assert_contains "$OUT" "PROBLEM  files"
assert_contains "$OUT" "ulimit -n"

note "a store its user may not write, and one on a read-only file system"
if ((EUID == 0)) && command -v setpriv >/dev/null; then
  chmod 0711 "$SCRATCH"
  chmod -R go+rX "$WF_HOME"
  expect_exit 1 setpriv --reuid=nobody --regid=nogroup --clear-groups "$WF" doctor
  assert_contains "$OUT" "PROBLEM  store"
  assert_contains "$OUT" "permission denied"
  assert_contains "$OUT" "what to do:"
  chmod 0700 "$SCRATCH"
fi
if ((EUID == 0)); then NS=(unshare -m); else NS=(unshare -rm); fi
if "${NS[@]}" true 2>/dev/null; then
  RC=0
  WF=$WF "${NS[@]}" bash -c 'mount --bind -o ro "$WF_HOME" "$WF_HOME" && exec "$WF" doctor' \
    </dev/null >"$OUT" 2>"$ERR" || RC=$?
  assert_eq "$RC" 1 "exit code of doctor on a read-only file system"
  assert_contains "$OUT" "PROBLEM  store"
  assert_contains "$OUT" "read-only file system"
  assert_contains "$OUT" "remount its file system read-write"
else
  note "skipped the read-only file system: '${NS[*]}' is not allowed here"
fi
ok wf doctor
note "doctor ok"
