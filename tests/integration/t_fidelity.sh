# Data fidelity: wf never gives a wrong result with exit 0 and never writes a record it
# cannot read back. Fan-out items with one key between them, or keys with control
# characters, fail the stage before any of its steps runs (with --continue-on-error too,
# and again on resume); outputs with a NUL character, bytes that are not UTF-8 or nesting
# deeper than 56 levels fail their attempt with a message saying where; a value at the
# limit goes through the next steps and a resume; `show-run -o json` is valid UTF-8 JSON
# whatever the steps printed.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
K=$DEFS/keys.json
V=$DEFS/values.json

# utf8_json FILE: FILE is valid UTF-8 and valid JSON.
utf8_json() {
  iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 || fail "$(basename "$1") is not valid UTF-8"
  jq -e . "$1" >/dev/null || fail "$(basename "$1") is not JSON"
}

# no_raw_controls FILE: no control characters but newlines in FILE.
no_raw_controls() {
  if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$1"; then
    show_captured
    fail "raw control characters in $(basename "$1")"
  fi
}

# work_steps ID: how many steps of stage "work" the run recorded.
work_steps() { "$WF" show-run "$1" -o json </dev/null | jq '[.steps[] | select(.key | startswith("work/"))] | length'; }

# ---- 7. duplicate keys ------------------------------------------------------------------
note "duplicate keys fail the stage before any of its steps runs"
: >"$log"
expect_exit 1 wf start "$K" -p log="$log" -p items=dup --run-id dup1
assert_contains "$ERR" 'stage "work": item 2 has the same key "a" as item 0'
assert_not_contains "$log" work
assert_eq "$(work_steps dup1)" 0 "work steps recorded"
run_json dup1
assert_json "$SCRATCH/run.json" '.status == "failed" and (.error | contains("item 2 has the same key \"a\" as item 0"))'
assert_json "$SCRATCH/run.json" '.counts.succeeded <= 2'   # list, perhaps other; never work/a twice

note "... under --continue-on-error: the stage fails, the stages that need it do not run"
: >"$log"
expect_exit 4 wf start "$K" -p log="$log" -p items=dup --run-id dup2 --continue-on-error
assert_contains "$ERR" 'item 2 has the same key "a" as item 0'
assert_not_contains "$log" work
assert_not_contains "$log" after
assert_contains "$log" other
assert_eq "$(work_steps dup2)" 0 "work steps recorded under --continue-on-error"
assert_eq "$(run_status dup2)" degraded "status under --continue-on-error"

note "... and again on resume"
: >"$log"
expect_exit 1 wf resume dup1
assert_contains "$ERR" 'item 2 has the same key "a" as item 0'
assert_not_contains "$log" work
assert_eq "$(work_steps dup1)" 0 "work steps recorded after resume"

note "... among many items: the first repeated item is named"
expect_exit 1 wf start "$DEFS/keys_echo.json" -p log="$log" -p items=many -p n=20000 -p d=1000 --run-id dup3
assert_contains "$ERR" 'item 1000 has the same key "k0" as item 0'
assert_eq "$(work_steps dup3)" 0 "work steps recorded with 1000 distinct keys in 20000 items"

note "... and distinct keys all run (the comparison has no false positives)"
ok wf start "$DEFS/keys_echo.json" -p log="$log" -p items=unique -p n=20000 --run-id uniq1
run_json uniq1
assert_json "$SCRATCH/run.json" '.status == "succeeded" and .counts.succeeded == 20001'
assert_json "$SCRATCH/run.json" '[.steps[] | select(.key | startswith("work/")) | .output.id] | unique | length == 20000'

# ---- 11. keys with control characters -------------------------------------------------
note "a key with a newline is refused, shown escaped, and no item of the stage runs"
: >"$log"
expect_exit 1 wf start "$K" -p log="$log" -p items=nl --run-id nl1
assert_contains "$ERR" 'item 1: key "b\nc" contains a control character'
no_raw_controls "$ERR"
assert_not_contains "$log" work
assert_eq "$(work_steps nl1)" 0 "work steps recorded with a newline key"
ok wf show-run nl1
no_raw_controls "$OUT"

note "... under --continue-on-error the stage fails loudly instead of dropping items"
: >"$log"
expect_exit 4 wf start "$K" -p log="$log" -p items=nl --run-id nl2 --continue-on-error
assert_contains "$ERR" 'item 1: key "b\nc" contains a control character'
assert_not_contains "$log" work
assert_contains "$log" other
run_json nl2
assert_json "$SCRATCH/run.json" '.status == "degraded" and (.error | contains("key \"b\\nc\""))'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "work") | .status == "failed" and (.error | contains("key \"b\\nc\""))'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "after") | .status == "upstream_failed"'

# ---- 8. NUL characters ----------------------------------------------------------------
note "an output with \\u0000 fails its attempt and is not recorded cut short"
: >"$log"
expect_exit 1 wf start "$V" -p log="$log" -p kind=nul -p gate="$SCRATCH/gate" --run-id nul1
run_json nul1
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "a") | .status == "failed" and .output == null'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "a") | .error | contains("NUL character (\\u0000) at byte 8 (line 1, column 9, at $.k)")'
assert_json "$SCRATCH/run.json" '[.steps[] | select(.key == "b")] | length == 0'

note "... so item keys with \\u0000 never reach a fan-out (they would collide)"
: >"$log"
expect_exit 1 wf start "$K" -p log="$log" -p items=nul --run-id nul2
assert_contains "$ERR" 'NUL character'
assert_not_contains "$log" work
assert_eq "$(work_steps nul2)" 0 "work steps recorded for keys with NUL"

# ---- 10. UTF-8 --------------------------------------------------------------------------
note "an output that is not UTF-8 fails its attempt with the byte offset"
expect_exit 1 wf start "$V" -p log="$log" -p kind=utf8 -p gate="$SCRATCH/gate" --run-id u1
run_json u1
utf8_json "$SCRATCH/run.json"
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "a") | .status == "failed" and .output == null'
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "a") | .error | contains("not valid UTF-8 at byte 8 (line 1, column 9, at $.k)")'

note "show-run -o json stays valid UTF-8 whatever a step prints on stdout and stderr"
expect_exit 1 wf start "$V" -p log="$log" -p kind=junk -p gate="$SCRATCH/gate" --run-id u2
run_json u2 --history
utf8_json "$SCRATCH/run.json"
assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "a") | (.error | contains("not valid UTF-8 at byte 5")) and (.stderr_tail | startswith("bad \ufffd\ufffd bytes"))'
expect_exit 1 wf start "$V" -p log="$log" -p kind=junk -p gate="$SCRATCH/gate" -o json
utf8_json "$OUT"

note "UTF-8 beyond ASCII is kept byte for byte"
touch "$SCRATCH/gate"
ok wf start "$V" -p log="$log" -p kind=text -p gate="$SCRATCH/gate" --run-id u3
run_json u3
utf8_json "$SCRATCH/run.json"
assert_eq "$(jq -r '.steps[] | select(.key == "a") | .output.k' "$SCRATCH/run.json")" \
  "$(printf 'caf\303\251 \342\230\225 \360\235\204\236')" "non-ASCII output"
rm -f "$SCRATCH/gate"

note "a parameter that is not UTF-8 is refused"
expect_exit 2 wf start "$V" -p log="$log" -p kind=$'\xff' -p gate="$SCRATCH/gate"
assert_contains "$ERR" 'param "kind": not valid UTF-8'

# ---- 9. nesting -------------------------------------------------------------------------
for n in 57 63 200; do
  note "an output nested $n deep fails its attempt, naming the limit"
  : >"$log"
  expect_exit 1 wf start "$V" -p log="$log" -p kind=deep -p n=$n -p gate="$SCRATCH/gate" --run-id deep$n
  run_json deep$n
  assert_json "$SCRATCH/run.json" '.steps[] | select(.key == "a") | .status == "failed" and (.error | contains("nests deeper than 56 levels"))'
  assert_json "$SCRATCH/run.json" '[.steps[] | select(.status == "unreadable")] | length == 0'
  ok wf show-run deep$n
  assert_not_contains "$OUT" unreadable
done

note "an output 56 deep goes through the next steps (whose records wrap it) and a resume"
: >"$log"
expect_exit 1 wf start "$V" -p log="$log" -p kind=deep -p n=56 -p gate="$SCRATCH/gate" --run-id deep56
assert_json "$(run_json deep56 && echo "$SCRATCH/run.json")" '.steps[] | select(.key == "c") | .status == "failed"'
touch "$SCRATCH/gate"
ok wf resume deep56
ok wf show-run deep56
assert_not_contains "$OUT" unreadable
assert_not_contains "$OUT" damaged
run_json deep56
assert_json "$SCRATCH/run.json" '.status == "succeeded" and .counts.succeeded == 6'
want=$(sh "$DEFS/emit.sh" /dev/null x deep 56 </dev/null | jq -c .)
assert_eq "$(jq -c '.steps[] | select(.key == "a") | .output' "$SCRATCH/run.json")" "$want" "a's output"
assert_eq "$(jq -c '.steps[] | select(.key == "fan/2") | .output' "$SCRATCH/run.json")" "$want" "fan/2's output"
# Each step executed once: the resume read every record it needed.
assert_eq "$(sort "$log" | tr '\n' ' ')" "a b c c fan-1 fan-2 " "steps executed"
: >"$log"
expect_exit 2 wf resume deep56   # succeeded: nothing to resume, and nothing unreadable
assert_not_contains "$ERR" damaged
assert_eq "$(cat "$log")" "" "steps executed by a second resume"
rm -f "$SCRATCH/gate"

note "fidelity ok"
