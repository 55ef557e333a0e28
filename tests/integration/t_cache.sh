# The cross-run cache: a step of a stage with "cache": true whose activity, command and
# input equal a succeeded step of an earlier run of the same workflow reuses its output
# without executing (a side file each execution appends to proves it), and says where it
# came from in show-run and the history; --force / --force S1,S2 execute anyway; a
# changed command or input, another workflow or a stage without "cache" execute.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/executed
def=$SCRATCH/cached.json
# write_def NAME FETCH_ARG: fetch lists two items; each item is processed in a fan-out;
# report is not cached. Every step appends its key to the side file.
write_def() {
  cat >"$def" <<EOF
{ "name": "$1", "version": 1,
  "params": { "n": { "type": "int", "default": 1 } },
  "stages": [
    { "id": "fetch", "cache": true,
      "run": ["sh", "-c", "echo \"\$WF_STEP_KEY\" >>\"\$0\"; echo \"[{\\\\\"id\\\\\": \\\\\"a\\\\\", \\\\\"n\\\\\": \$1}, {\\\\\"id\\\\\": \\\\\"b\\\\\", \\\\\"n\\\\\": \$1}]\"", "$log", "\${params.n}", "$2"] },
    { "id": "each", "needs": ["fetch"], "cache": true,
      "foreach": "\${stages.fetch.output}", "key": "\${item.id}",
      "run": ["sh", "-c", "echo \"\$WF_STEP_KEY\" >>\"\$0\"; jq -c '{id: .item.id, twice: (.item.n * 2), at: now}'", "$log"] },
    { "id": "report", "needs": ["each"],
      "run": ["sh", "-c", "echo \"\$WF_STEP_KEY\" >>\"\$0\"; echo '{}'", "$log"] }
  ] }
EOF
}
executed() { sort "$log" | tr '\n' ' '; }
fresh() { : >"$log"; }

write_def cached v1
note "the first run executes every step"
fresh
ok wf start "$def" --run-id r1
assert_eq "$(executed)" "each/a each/b fetch report " "steps executed by the first run"

note "the second run reuses the cached stages' outputs without executing them"
fresh
ok wf start "$def" --run-id r2
assert_eq "$(executed)" "report " "steps executed by the second run"
run_json r1
cp "$SCRATCH/run.json" "$SCRATCH/r1.json"
run_json r2 --history
assert_json "$SCRATCH/run.json" '.status == "succeeded" and .counts.succeeded == 4'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "fetch") | .status == "succeeded" and .cached_from == {"run": "r1", "step": "fetch"}'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "each/b") | .cached_from == {"run": "r1", "step": "each/b"}'
# wf explain says where the output came from, and that it was not executed here
ok wf explain r2 each/b -o json
assert_json "$OUT" '.why == "cached" and (.reason | test("run r1, step each/b"))'
assert_json "$OUT" '.executions[0].ran == false'
ok wf explain r2 each/b
assert_contains "$OUT" "not executed in this run: output reused from run r1, step each/b (cache)"
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "report") | .cached_from == null'
# the very output of the source step (its "at" time proves it was not made again)
[[ $(jq -c '.steps[] | select(.key == "each/a") | .output' "$SCRATCH/run.json") == \
   $(jq -c '.steps[] | select(.key == "each/a") | .output' "$SCRATCH/r1.json") ]] ||
  fail "the cached output differs from the source's"
assert_json "$SCRATCH/run.json" '[.events[] | select(.type == "step_cached")] | length == 3'
assert_json "$SCRATCH/run.json" '.events[] | select(.type == "step_cached" and .step == "fetch") | .detail | contains("run r1, step fetch")'
ok wf show-run r2
assert_contains "$OUT" "cached"
assert_contains "$OUT" "from run r1, step each/a"

note "a third run finds the newest source"
fresh
ok wf start "$def" --run-id r3
assert_eq "$(executed)" "report " "steps executed by the third run"
assert_eq "$(step_field r3 fetch cached_from | jq -r .run)" r2 "source of the third run's fetch"

note "another input executes again"
fresh
ok wf start "$def" --run-id r4 -p n=2
assert_eq "$(executed)" "each/a each/b fetch report " "steps executed with another param"

note "--force executes every cached stage; --force S executes only S"
fresh
ok wf start "$def" --run-id r5 --force
assert_eq "$(executed)" "each/a each/b fetch report " "steps executed with --force"
assert_eq "$(step_field r5 fetch cached_from)" null "cached_from with --force"
fresh
ok wf start "$def" --run-id r6 --force fetch
assert_eq "$(executed)" "fetch report " "steps executed with --force fetch"
fresh
ok wf start "$def" --run-id r7 --force=each
assert_eq "$(executed)" "each/a each/b report " "steps executed with --force=each"
fresh
ok wf start --force "$def" --run-id r8
assert_eq "$(executed)" "each/a each/b fetch report " "steps executed with --force before the workflow"
expect_exit 2 wf start "$def" --run-id r9 --force nosuch
assert_contains "$ERR" '--force: unknown stage "nosuch"'
expect_exit 3 wf show-run r9

note "--dry-run says which stages use the cache"
ok wf start "$def" --dry-run
assert_contains "$OUT" "cache: steps whose command and input an earlier run's succeeded step had reuse its output"
ok wf start "$def" --dry-run --force
assert_contains "$OUT" "cache: ignored (--force)"

note "a changed command executes again; the items, whose input did not change, are reused"
write_def cached v2
fresh
ok wf start "$def" --run-id r10
assert_eq "$(executed)" "fetch report " "steps executed after fetch's command changed"

note "another workflow with the same commands does not share the cache"
write_def other v2
fresh
ok wf start "$def" --run-id o1
assert_eq "$(executed)" "each/a each/b fetch report " "steps executed by another workflow"

note "a failed step is not cached; resume of a run uses the cache too"
cat >"$SCRATCH/flaky.json" <<EOF
{ "name": "flaky", "stages": [
    { "id": "one", "cache": true, "run": ["sh", "-c", "echo one >>\"\$0\"; echo 1", "$log"] },
    { "id": "two", "needs": ["one"], "cache": true,
      "run": ["sh", "-c", "echo two >>\"\$0\"; [ -f \"\$1\" ] && echo 2", "$log", "$SCRATCH/ready"] } ] }
EOF
fresh
expect_exit 1 wf start "$SCRATCH/flaky.json" --run-id f1
expect_exit 1 wf start "$SCRATCH/flaky.json" --run-id f2
assert_eq "$(executed)" "one two two " "a failed step is executed again, the succeeded one reused"
touch "$SCRATCH/ready"
fresh
ok wf resume f2
assert_eq "$(executed)" "two " "resume"
fresh
ok wf start "$SCRATCH/flaky.json" --run-id f3
assert_eq "$(executed)" "" "a run after the success"
assert_eq "$(step_field f3 two cached_from | jq -r .run)" f2 "source of two"

note "bad \"cache\": exit 2, nothing recorded"
printf '{ "name": "bad", "stages": [ { "id": "a", "run": ["true"], "cache": "yes" } ] }\n' >"$SCRATCH/bad.json"
expect_exit 2 wf start "$SCRATCH/bad.json" --run-id bad1
assert_contains "$ERR" '"cache" must be true or false'
expect_exit 3 wf show-run bad1
