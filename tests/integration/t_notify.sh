# Notification hooks: "on_success", "on_failure" and "on_finish" of a definition run when
# a run ends, with the run's show-run JSON on stdin; a failing hook is reported and never
# changes the run's result; bad hooks are refused before anything is recorded.
source "$(dirname "$0")/lib.sh" "$@"

hooklog=$SCRATCH/hooks
def=$SCRATCH/notified.json
# write_def OK_EXIT SUCCESS_HOOK_EXIT: a one-stage workflow whose step exits OK_EXIT;
# every hook appends "<hook> <WF_HOOK> <WF_RUN_STATUS> <run id from stdin> <status
# from stdin> <params.tag>" to the side file; on_success then exits SUCCESS_HOOK_EXIT.
write_def() {
  cat >"$def" <<EOF
{ "name": "notified", "version": 1,
  "params": { "tag": { "type": "string", "default": "t1" } },
  "stages": [ { "id": "work", "run": ["sh", "-c", "echo '{\"n\": 1}'; exit $1"] } ],
  "on_success": ["sh", "-c", "printf 'success %s %s %s\\\\n' \"\$WF_HOOK\" \"\$WF_RUN_STATUS\" \"\$(jq -r '.id + \" \" + .status + \" \" + (.steps[0].output.n|tostring)')\" >>\"\$0\"; echo hook-out; exit $2", "$hooklog"],
  "on_failure": ["sh", "-c", "printf 'failure %s %s %s\\\\n' \"\$WF_HOOK\" \"\$WF_RUN_STATUS\" \"\$(jq -r '.id + \" \" + .status')\" >>\"\$0\"", "$hooklog"],
  "on_finish": ["sh", "-c", "printf 'finish %s %s %s\\\\n' \"\$WF_HOOK\" \"\$WF_RUN_STATUS\" \"\$1\" >>\"\$0\"", "$hooklog", "\${params.tag}"]
}
EOF
}

note "a run that succeeds: on_success, then on_finish, with the run's JSON on stdin"
write_def 0 0
ok wf start "$def" --run-id daily-1
[[ $(cat "$hooklog") == "success on_success succeeded daily-1 succeeded 1
finish on_finish succeeded t1" ]] || { cat "$hooklog" >&2; fail "hooks of a successful run"; }
assert_not_contains "$OUT" "hook-out"   # a hook's stdout goes to stderr, not wf's stdout
assert_contains "$ERR" "hook-out"

note "-o json keeps stdout the run's JSON"
: >"$hooklog"
ok wf start "$def" --run-id daily-1j -o json
assert_json "$OUT" '.id == "daily-1j" and .status == "succeeded"'

note "a failing hook is logged and the run's result stands"
write_def 0 7
: >"$hooklog"
ok wf start "$def" --run-id daily-2
assert_contains "$ERR" "on_success hook sh of run daily-2 exited with code 7; the run stays succeeded"
assert_eq "$(run_status daily-2)" succeeded "status after a failing hook"
assert_eq "$(lines "$hooklog")" 2 "hooks run after a failing one"

note "a run that fails: on_failure, then on_finish"
write_def 3 0
: >"$hooklog"
expect_exit 1 wf start "$def" --run-id daily-3 -p tag=t3
[[ $(cat "$hooklog") == "failure on_failure failed daily-3 failed
finish on_finish failed t3" ]] || { cat "$hooklog" >&2; fail "hooks of a failed run"; }

note "a hook that cannot start is logged; the run still fails with its own exit code"
sed 's/"on_failure": \["sh"/"on_failure": ["no-such-program-wf"/' "$def" >"$SCRATCH/d2.json"
sed -i 's/"name": "notified"/"name": "notified2"/' "$SCRATCH/d2.json"
: >"$hooklog"
expect_exit 1 wf start "$SCRATCH/d2.json" --run-id daily-4
assert_contains "$ERR" "on_failure hook no-such-program-wf of run daily-4 exited with code 127"
assert_eq "$(lines "$hooklog")" 1 "on_finish still ran"

note "resume runs the hooks when the resumed run ends"
write_def 0 0
: >"$hooklog"
# daily-3 failed; its recorded definition has the failing step, so it fails again.
expect_exit 1 wf resume daily-3
assert_contains "$hooklog" "failure on_failure failed daily-3 failed"

note "a canceled run gets on_finish only"
cat >"$SCRATCH/slow.json" <<EOF
{ "name": "slow", "version": 1,
  "stages": [ { "id": "wait", "run": ["sleep", "30"] } ],
  "on_success": ["sh", "-c", "echo success >>\"\$0\"", "$hooklog"],
  "on_failure": ["sh", "-c", "echo failure >>\"\$0\"", "$hooklog"],
  "on_finish": ["sh", "-c", "echo \"finish \$WF_RUN_STATUS\" >>\"\$0\"", "$hooklog"] }
EOF
: >"$hooklog"
"$WF" start "$SCRATCH/slow.json" --run-id slow-1 >/dev/null 2>&1 &
BG_PIDS+=($!)
wait_status slow-1 running 10
ok wf cancel-run slow-1
wait_for 10 grep -q finish "$hooklog"
assert_eq "$(cat "$hooklog")" "finish canceled" "hooks of a canceled run"

note "bad hooks: exit 2 with what is wrong, nothing recorded"
bad() { # NAME JSON-FRAGMENT MESSAGE
  printf '{ "name": "bad", "stages": [ { "id": "a", "run": ["true"] } ], %s }\n' "$2" >"$SCRATCH/$1.json"
  expect_exit 2 wf start "$SCRATCH/$1.json" --run-id "bad-$1"
  assert_contains "$ERR" "$3"
  expect_exit 3 wf show-run "bad-$1"
}
bad str '"on_success": "mail ops"' '"on_success" must be a non-empty array of strings'
bad empty '"on_failure": []' '"on_failure" must be a non-empty array of strings'
bad num '"on_finish": ["echo", 3]' '"on_finish[1]" must be a string'
bad stage '"on_finish": ["echo", "${stages.a.output}"]' 'a notification hook may use ${params...}'
bad param '"on_finish": ["echo", "${params.nope}"]' 'unknown param "nope"'
bad typo '"on_sucess": ["true"]' 'on_sucess'
bad prog '"on_success": [""]' '"on_success[0]" (the program) is empty'
