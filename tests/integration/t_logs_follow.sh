# wf logs --follow follows each log file as tail -F does: by its identity, not its place in
# a sorted listing, printing every line once and whole. Steps here begin in the reverse of
# their sorted order, two at a time, and write each line in two pieces.
source "$(dirname "$0")/lib.sh" "$@"

gate=$SCRATCH/gate
cat >"$SCRATCH/halves.json" <<'JSON'
{ "name": "halves", "version": 1, "description": "steps that write half lines, in reverse order",
  "params": { "gate": { "type": "string", "required": true } },
  "defaults": { "retry": { "max_attempts": 1 }, "timeout_s": 60 },
  "stages": [
    { "id": "wait", "run": ["sh", "-c", "while [ -e \"$1\" ]; do sleep 0.05; done; echo 1", "sh", "${params.gate}"] },
    { "id": "list", "needs": ["wait"], "run": ["echo", "[\"e\", \"d\", \"c\", \"b\", \"a\"]"] },
    { "id": "w", "needs": ["list"], "foreach": "${stages.list.output}", "key": "${item}",
      "concurrency": 2,
      "run": ["sh", "-c", "for i in 1 2 3; do printf 'begin-%s-%s ' $1 $i >&2; sleep 0.25; printf 'end-%s-%s\\n' $1 $i >&2; done; echo 1", "sh", "${item}"] } ] }
JSON

touch "$gate"
start_bg "$SCRATCH/owner.out" start "$SCRATCH/halves.json" -p gate="$gate" --run-id H
owner=$BG
wait_status H running 20
start_bg "$SCRATCH/follow.out" logs H --follow
follower=$BG
sleep 0.3
rm -f "$gate"
wait_exit "$owner" 60
assert_eq "$RC" 0 "exit code of the run"
wait_exit "$follower" 10
assert_eq "$RC" 0 "exit code of wf logs --follow"

out=$OUT
cp "$SCRATCH/follow.out" "$out"
: >"$ERR"
# Each line of each step once, whole.
for s in a b c d e; do
  (($(grep -c "^==> w/$s <==$" "$out" || true) >= 1)) || fail "no header for w/$s"
  for i in 1 2 3; do
    n=$(grep -c "^begin-$s-$i end-$s-$i$" "$out" || true)
    ((n == 1)) || { show_captured; fail "line $i of w/$s printed whole $n times, not once"; }
  done
done
# Nothing else: no half lines, no repeats.
others=$(grep -v -e '^==> w/[a-e] <==$' -e '^begin-\([a-e]\)-\([123]\) end-\1-\2$' -e '^--- attempt 1 ' "$out" || true)
[[ -z $others ]] || { show_captured; fail "lines that are not whole lines of a step: $others"; }
assert_eq "$(grep -c '^--- attempt 1 ' "$out")" 5 "attempt lines (one per step)"
# Every line comes under the header of its own step.
awk '/^==> / { k = substr($2, 3) } /^begin-/ { split($1, p, "-"); if (p[2] != k) { print; bad = 1 } } END { exit bad }' "$out" >/dev/null ||
  { show_captured; fail "a line is printed under another step's header"; }

# Without --follow, a log that does not end with a newline is ended with one, so the next
# header begins a line.
cat >"$SCRATCH/nonl.json" <<'JSON'
{ "name": "nonl", "version": 1, "description": "stderr without a final newline",
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [ { "id": "a", "run": ["sh", "-c", "printf 'no newline' >&2; echo 1"] },
              { "id": "b", "run": ["sh", "-c", "printf 'second\\n' >&2; echo 1"] } ] }
JSON
ok wf start "$SCRATCH/nonl.json" --run-id N
ok wf logs N
assert_contains "$OUT" "no newline"
grep -q '^==> b <==$' "$OUT" || { show_captured; fail "the header of b does not begin a line"; }
ok wf logs N --follow
grep -q '^no newline$' "$OUT" || { show_captured; fail "--follow of a finished run does not print the last line of a"; }

note "logs --follow ok"
