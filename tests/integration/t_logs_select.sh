# wf logs --tail N prints the last N lines of each log; --step STAGE the logs of every step
# of a stage, --step KEY one step.
source "$(dirname "$0")/lib.sh" "$@"

cat >"$SCRATCH/sel.json" <<'JSON'
{ "name": "sel", "version": 1, "description": "a fetch, a fan-out and a stage whose id begins like it",
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [
    { "id": "fetch", "run": ["sh", "-c", "seq -f 'fetch-%g' 1 3 >&2; echo '[\"x\", \"y\"]'"] },
    { "id": "process", "needs": ["fetch"], "foreach": "${stages.fetch.output}", "key": "${item}",
      "run": ["sh", "-c", "seq -f \"process-$1-%g\" 1 10 >&2; echo 1", "sh", "${item}"] },
    { "id": "process_all", "needs": ["process"], "run": ["sh", "-c", "echo marker-process-all >&2; echo 1"] } ] }
JSON
ok wf start "$SCRATCH/sel.json" --run-id R

# A whole stage: process/x and process/y, not fetch, not process_all.
ok wf logs R --step process
assert_contains "$OUT" "==> process/x <=="
assert_contains "$OUT" "==> process/y <=="
grep -q '^process-x-1$' "$OUT" && grep -q '^process-y-10$' "$OUT" || { show_captured; fail "--step process misses lines of its steps"; }
assert_not_contains "$OUT" "fetch-"
assert_not_contains "$OUT" "marker-process-all"
# An exact key: one step.
ok wf logs R --step process/x
grep -q '^process-x-10$' "$OUT" || { show_captured; fail "--step process/x misses its lines"; }
assert_not_contains "$OUT" "process-y-"
ok wf logs R --step process_all
assert_contains "$OUT" "marker-process-all"
assert_not_contains "$OUT" "process-x-"
expect_exit 3 wf logs R --step proc
expect_exit 3 wf logs R --step process/z

# --tail N: the last N lines of each log.
ok wf logs R --tail 2
for want in fetch-2 fetch-3 process-x-9 process-x-10 process-y-9 process-y-10 marker-process-all; do
  grep -q "^$want\$" "$OUT" || { show_captured; fail "--tail 2 misses $want"; }
done
for unwanted in fetch-1 process-x-8 process-y-1; do
  grep -qx -- "$unwanted" "$OUT" && { show_captured; fail "--tail 2 prints $unwanted"; }
done
assert_eq "$(grep -vc '^==> ' "$OUT")" 8 "lines printed by --tail 2 (2 of each of 4 logs)"
assert_eq "$(grep -c '^--- attempt' "$OUT")" 1 "attempt lines printed by --tail 2 (process_all's log has 2 lines)"
ok wf logs R --step process --tail 1
assert_eq "$(grep -v '^==> ' "$OUT" | sort | tr '\n' ' ')" "process-x-10 process-y-10 " "--step process --tail 1"
ok wf logs R --tail 1 --follow
assert_eq "$(grep -v '^==> ' "$OUT" | sort | tr '\n' ' ')" "fetch-3 marker-process-all process-x-10 process-y-10 " "--tail 1 --follow of a finished run"
ok wf logs R --tail 0
[[ ! -s $OUT ]] || { show_captured; fail "--tail 0 printed lines"; }
ok wf logs R --tail 100
assert_eq "$(grep -c '^process-x-' "$OUT")" 10 "--tail 100 of a 10-line log"
for bad in -1 x 1x ""; do
  expect_exit 2 wf logs R --tail "$bad"
  assert_contains "$ERR" "--tail"
done

# Help names both.
ok wf logs --help
assert_contains "$OUT" "--tail N"
assert_contains "$OUT" "STAGE"

note "logs --tail and --step STAGE ok"
