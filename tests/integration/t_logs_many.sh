# wf logs prints the log of every step, however many there are: a run of 4200 steps
# (more than the 4096 it once stopped at, silently) prints 4200 logs, with and without
# --follow.
source "$(dirname "$0")/lib.sh" "$@"

n=4200
cat >"$SCRATCH/many.json" <<'JSON'
{ "name": "many", "version": 1, "description": "many steps that each write a line to stderr",
  "params": { "n": { "type": "int", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [
    { "id": "list", "run": ["sh", "-c", "echo \"[$(seq -s, 1 $1)]\"", "sh", "${params.n}"] },
    { "id": "w", "needs": ["list"], "foreach": "${stages.list.output}", "key": "${item}",
      "concurrency": 16, "run": ["sh", "-c", "echo line-$1 >&2; echo 1", "sh", "${item}"] } ] }
JSON
CMD_TIMEOUT=240 ok wf start "$SCRATCH/many.json" -p n=$n --run-id M --window 16

for follow in "" --follow; do
  ok wf logs M $follow
  assert_eq "$(grep -c '^==> w/[0-9]* <==$' "$OUT")" $n "step logs printed by wf logs M $follow"
  assert_eq "$(grep '^line-[0-9]*$' "$OUT" | sort -u | wc -l)" $n "distinct step lines printed by wf logs M $follow"
  assert_eq "$(grep -c '^line-[0-9]*$' "$OUT")" $n "step lines printed by wf logs M $follow"
  grep -q '^line-4200$' "$OUT" || fail "the log of w/4200 is missing"
done

note "logs of $n steps ok"
