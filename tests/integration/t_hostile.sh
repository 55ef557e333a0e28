# Hostile input at the command line: malformed run ids, impossible dates, unknown and
# incomplete flags, conflicting selections, broken definitions, things that do not exist.
#
# Every case must end with exactly one line on stderr naming the problem, nothing on stdout,
# no crash and the documented exit code (2 usage/definition, 3 not found, 5 store). And the
# store must be untouched: the same data.mdb bytes, the same `mdb_dump -a` and the same files
# under $WF_HOME as before the command.
#
# All cases run; the failures are listed together at the end.
source "$(dirname "$0")/lib.sh" "$@"

command -v mdb_dump >/dev/null || fail "mdb_dump is required (lmdb-utils; scripts/setup.sh --test-deps)"

H=$TESTS/data/hostile
log=$SCRATCH/side.log

# ---- a store with a few runs in it ---------------------------------------------------------
ok wf start "$DEFS/three.json" -p log="$log" --run-id r1
ok wf start "$H/date.json" -p day=2024-02-29 --run-id r2
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id r3
[[ -f $WF_HOME/store/data.mdb ]] || fail "no store at $WF_HOME/store"
: >"$log"

# snapshot FILE: what must not change — a dump of every database, a digest of data.mdb
# and the files under the home (lock.mdb's contents are reader slots and may change).
snapshot() {
  {
    echo "## data.mdb $(sha256sum <"$WF_HOME/store/data.mdb")"
    echo "## files"
    (cd "$WF_HOME" && find . -path ./store/lock.mdb -prune -o -printf '%p %y %s\n' | LC_ALL=C sort)
    echo "## dump"
    mdb_dump -a "$WF_HOME/store"
  } >"$1" 2>&1
}
snapshot "$SCRATCH/before"
grep -q '^## dump' "$SCRATCH/before" && [[ $(wc -l <"$SCRATCH/before") -gt 20 ]] ||
  fail "the store snapshot looks empty"

FAILURES=()
CASES=0
problem() { FAILURES+=("$*"); }

# printable CMD...: the command for messages, quoted as bash would ($'\001' for control
# characters), long arguments shortened.
printable() {
  local a s=
  for a in "$@"; do
    a=${a/#$WF/wf}
    a=${a//$TESTS/TESTS}
    ((${#a} > 60)) && a="${a:0:40}...(${#a} bytes)"
    s+="$(printf '%q' "$a") "
  done
  echo "${s% }"
}

# bad CODE PATTERN CMD...: CMD exits CODE (a number, or alternatives such as 3|5) with
# exactly one line on stderr that contains PATTERN (case-insensitive, extended regex),
# nothing on stdout, no step executed, and leaves the store as it was. Each case that
# misbehaves is listed once with every reason; after a change to the store the new state
# becomes the base for the next case.
bad() {
  local want=$1 pat=$2 rc=0 what n
  local -a why=()
  shift 2
  CASES=$((CASES + 1))
  [[ $1 == wf ]] && set -- "$WF" "${@:2}"
  what=$(printable "$@")
  timeout -k 5 30 "$@" </dev/null >"$OUT" 2>"$ERR" || rc=$?
  if ((rc >= 124)); then
    why+=("exit $rc (crash, signal or hang)")
  elif [[ ! $rc =~ ^($want)$ ]]; then
    why+=("exit $rc, want $want")
  fi
  if grep -qE 'Sanitizer|runtime error:' "$ERR"; then
    why+=("sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$ERR")")
  fi
  n=$(wc -l <"$ERR")
  if ((n != 1)) || [[ $(tail -c 1 "$ERR" | od -An -c | tr -d ' ') != '\n' ]]; then
    why+=("$n lines on stderr, want one message")
  elif LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$ERR"; then
    why+=("raw control characters in the message")
  fi
  grep -qiE -- "$pat" "$ERR" || why+=("the message does not match /$pat/")
  [[ -s $OUT ]] && why+=("wrote to stdout: $(head -c 160 "$OUT" | tr '\n' '|')")
  snapshot "$SCRATCH/after"
  if ! cmp -s "$SCRATCH/before" "$SCRATCH/after"; then
    why+=("the store or the home changed: $( (diff "$SCRATCH/before" "$SCRATCH/after" || true) |
      grep -E '^[<>] (\./|## data)' | head -n 4 | tr '\n' ' ')")
    cp "$SCRATCH/after" "$SCRATCH/before"
  fi
  if [[ -s $log ]]; then
    why+=("a step ran")
    : >"$log"
  fi
  if ((${#why[@]})); then
    local r reasons=
    for r in "${why[@]}"; do reasons+="$r; "; done
    problem "$what => ${reasons}stderr: $(head -c 240 "$ERR" | tr '\n' '|' | LC_ALL=C tr '\001-\037\177' '?')"
  fi
}

T=$DEFS/three.json
D=$H/date.json
long512=$(printf 'x%.0s' {1..512})
long201=$(printf 'y%.0s' {1..201})
long64k=$(head -c 65536 /dev/zero | tr '\0' z)

# ---- run ids -----------------------------------------------------------------------------
note "run ids"
ID_PAT='run.?id'
for id in "$long512" "$long64k" "$long201" $'a\x01b' $'a\nb' $'a\tb' $'a\x1b[31mb' $'a\x7fb' \
  '' '.' '..' '-x' '.hidden' 'a/b' '../r1' 'a b' $'caf\xc3\xa9' $'bad\xff'; do
  bad 2 "$ID_PAT" wf start "$T" -p log="$log" --run-id "$id"
  bad 2 "$ID_PAT" wf start "$T" -p log="$log" --run-id "$id" --dry-run
  for cmd in show-run resume cancel-run logs; do
    bad 2 "$ID_PAT|option" wf "$cmd" "$id"
  done
done

# ---- parameters --------------------------------------------------------------------------
note "parameters"
for day in 2026-02-30 2025-02-29 2024-13-01 2024-00-10 2024-04-31 0000-01-01 2024-1-01 \
  20240101 2024-01-01T00:00 ' 2024-01-01' '' $'2024-01-01\n' 2024-01-01x; do
  bad 2 'day|control' wf start "$D" -p day="$day"
done
bad 2 'day' wf start "$D"                                   # required, missing
bad 2 'zzz' wf start "$D" -p day=2024-01-01 -p zzz=1        # not declared
bad 2 '-p|param' wf start "$D" -p =2024-01-01
bad 2 '-p|param' wf start "$D" -p day
P=$DEFS/params.json
bad 2 '"n"' wf start "$P" -p day=2024-01-01 -p n=99999999999999999999999
bad 2 '"n"' wf start "$P" -p day=2024-01-01 -p n=1e3
bad 2 '"n"' wf start "$P" -p day=2024-01-01 -p n=0x10
bad 2 'flag' wf start "$P" -p day=2024-01-01 -p flag=maybe

# ---- unknown flags, missing values ------------------------------------------------------
note "flags"
bad 2 'frob' wf start "$T" -p log="$log" --frob
bad 2 'frob' wf --frob list-runs
bad 2 'frob' wf list-runs --frob
bad 2 'frob' wf show-run r1 --frob
bad 2 'frob' wf resume r3 --frob
bad 2 'frob' wf cancel-run r1 --frob
bad 2 'frob' wf logs r1 --frob
bad 2 'frob' wf frob
bad 2 'bogus' wf -o bogus list-runs
bad 2 'bogus' wf list-runs --status bogus
for opt in --run-id -p --param --only --skip --to --start-from --window; do
  bad 2 "$opt" wf start "$T" "$opt"
done
for opt in --status --workflow --since --limit --output; do
  bad 2 "$opt" wf list-runs "$opt"
done
bad 2 '--step' wf logs r1 --step
bad 2 '--window' wf resume r3 --window
bad 2 '--home' wf list-runs --home
bad 2 '--home' wf --home
bad 2 '-o|output' wf -o
bad 2 '--window' wf start "$T" -p log="$log" --window 0
bad 2 '--window' wf start "$T" -p log="$log" --window 99999999999999999999
bad 2 '--limit' wf list-runs --limit -1
bad 2 '--since' wf list-runs --since 2026-02-30
bad 2 'workflow' wf start
bad 2 'workflow' wf start "$T" "$T"
bad 2 'run id' wf show-run r1 r2
bad 2 'run id|--all' wf resume
bad 2 'run id|--all' wf resume --all r3

# ---- conflicting selections -------------------------------------------------------------
note "conflicting flags"
bad 2 '"?a"?.*(only|skip)' wf start "$T" -p log="$log" --only a --skip a
bad 2 '"?b"?.*(only|skip)' wf start "$T" -p log="$log" --only a,b --skip b
bad 2 'detach|dry-run' wf start "$T" -p log="$log" --detach --dry-run
bad 2 'run-id|run id' wf start "$T" -p log="$log" --start-from b
bad 2 'r1' wf start "$T" -p log="$log" --run-id r1
bad 2 'nosuch' wf start "$T" -p log="$log" --only nosuch
bad 2 'nosuch' wf start "$T" -p log="$log" --to nosuch
# Selections that leave nothing to execute.
bad 2 'nothing|no stage|empty|skip' wf start "$T" -p log="$log" --to a --skip a
bad 2 'nothing|no stage|empty|skip' wf start "$T" -p log="$log" --skip a,b,c

# ---- broken definitions -----------------------------------------------------------------
note "definitions"
bad 2 'form a cycle|cycle:' wf start "$DEFS/invalid/cycle.json"
bad 2 'a -> c -> b -> a|cycle.*[abc]' wf start "$DEFS/invalid/cycle.json"
bad 2 'itself|cycle: a -> a' wf start "$H/self_cycle.json"
bad 2 'deep_cycle.json.*cycle.*[def] -> [def] -> [def] -> [def]' wf start "$H/deep_cycle.json"
bad 2 'cycle.*[def] -> [def]' wf describe "$H/deep_cycle.json"
bad 2 'neeeds' wf start "$DEFS/invalid/unknown_field.json"
bad 2 'stagez' wf start "$DEFS/invalid/unknown_top_field.json"
bad 2 'defualt' wf start "$H/unknown_param_field.json"
bad 2 'max_attempt' wf start "$H/unknown_retry_field.json"
bad 2 'timeout' wf start "$H/unknown_defaults_field.json"
bad 2 'unterminated "\$\{"' wf start "$H/interp_unterminated.json"
bad 2 'empty expression' wf start "$H/interp_empty.json"
bad 2 'root "?env' wf start "$H/interp_unknown_root.json"
bad 2 'item.*foreach' wf start "$H/interp_item_outside.json"
bad 2 '"a".*"needs"' wf start "$H/interp_stage_not_needed.json"
bad 2 '"?y"?' wf start "$H/interp_undeclared_param.json"
bad 2 'undeclared' wf start "$DEFS/invalid/bad_interp.json"
bad 2 'NUL (byte|char)|u0000' wf start "$H/nul_in_argv.json"
bad 2 'default.*date' wf start "$H/bad_default_date.json"
bad 2 'JSON object|top level' wf start "$H/not_object.json"
bad 2 'syntax\.json.*[0-9]+:[0-9]+' wf start "$DEFS/invalid/syntax.json"
# Generated: a NUL byte in the file, text that is not UTF-8 (Latin-1), nesting far beyond
# any sane depth, an empty file, and 17 MiB of whitespace.
printf '{"name":"h","stages":[{"id":"a","run":["echo","a\0b"]}]}' >"$SCRATCH/nul_byte.json"
bad 2 'NUL (byte|char)' wf start "$SCRATCH/nul_byte.json"
printf '{"name":"h","stages":[{"id":"a","run":["echo","caf\351"]}]}' >"$SCRATCH/latin1.json"
bad 2 'latin1\.json:1:51: not valid UTF-8' wf start "$SCRATCH/latin1.json"
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "["; for (i = 0; i < 100000; i++) printf "]"; print "" }' \
  >"$SCRATCH/deep.json"
bad 2 'nest|depth|too deep' wf start "$SCRATCH/deep.json"
: >"$SCRATCH/empty.json"
bad 2 'empty.json.*(end|empty)' wf start "$SCRATCH/empty.json"
{ head -c $((17 << 20)) /dev/zero | tr '\0' ' '; echo '{}'; } >"$SCRATCH/huge.json"
bad 2 'huge.json.*(large|MiB|big)' wf start "$SCRATCH/huge.json"
rm -f "$SCRATCH/huge.json"

# ---- not found: exit 3 --------------------------------------------------------------------
note "not found"
for cmd in show-run resume cancel-run logs; do
  bad 3 'nosuch' wf "$cmd" nosuch
done
bad 3 'nosuch' wf logs r1 --step nosuch
bad 3 'missing\.json' wf start "$SCRATCH/missing.json"
bad 3 'missing\.json' wf describe "$SCRATCH/missing.json"
bad 3 'no-such-workflow' wf start no-such-workflow
bad 3 'nosuch|no store' wf --home "$SCRATCH/no-home" show-run nosuch
expect_exit 0 wf --home "$SCRATCH/no-home" list-runs
[[ ! -e $SCRATCH/no-home ]] || problem "show-run or list-runs on a missing home created $SCRATCH/no-home"

# ---- a home that is not a directory: a store error ------------------------------------------
note "bad home"
echo "not a store" >"$SCRATCH/afile"
bad 5 'afile.*directory' wf --home "$SCRATCH/afile" list-runs
bad '3|5' 'afile' wf --home "$SCRATCH/afile" show-run r1
bad 5 'afile.*directory' wf --home "$SCRATCH/afile" start "$T" -p log="$log"
assert_eq "$(cat "$SCRATCH/afile")" "not a store" "a file given as --home"

# ---- and the store still works -------------------------------------------------------------
for id in r1 r3; do ok wf show-run "$id" -o json; done
ok wf show-run r2 -o json
assert_json "$OUT" '.status == "succeeded" and .params.day == "2024-02-29"'

if ((${#FAILURES[@]})); then
  echo "---- $TEST_NAME: ${#FAILURES[@]} problems in $CASES cases ----" >&2
  printf '%s\n' "${FAILURES[@]}" >&2
  fail "${#FAILURES[@]} of $CASES hostile commands misbehaved (listed above)"
fi
note "hostile ok: $CASES cases, store untouched by every one"
