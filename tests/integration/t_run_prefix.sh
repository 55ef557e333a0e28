# A unique prefix of a run id is taken wherever a run id is (show-run, logs, cancel-run,
# resume, delete-run); an exact id wins over the longer ids it begins; an ambiguous prefix
# lists the candidates and exits 2 without changing anything.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
ok wf start "$DEFS/three.json" -p log="$log" --run-id run_2026-05-01-aaaa
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id run_2026-05-01-bbbb
ok wf start "$DEFS/three.json" -p log="$log" --run-id run_2026
ok wf start "$DEFS/three.json" -p log="$log" --run-id zeta

ok wf show-run ze
assert_contains "$OUT" "run       zeta"
ok wf show-run run_2026-05-01-a -o json
assert_json "$OUT" '.id == "run_2026-05-01-aaaa"'
ok wf show-run run_2026            # exact id, though longer ids begin with it
assert_contains "$OUT" "run       run_2026"$'\n'
ok wf logs run_2026-05-01-b
expect_exit 2 wf show-run run_2026-05-01
assert_contains "$ERR" "ambiguous"
assert_contains "$ERR" "run_2026-05-01-aaaa"
assert_contains "$ERR" "run_2026-05-01-bbbb"
expect_exit 2 wf logs run_2026-05
expect_exit 2 wf cancel-run run_2026-0
expect_exit 2 wf resume run_2026-05-01-
expect_exit 2 wf delete-run run_2026-05-01
expect_exit 3 wf show-run nosuch
assert_contains "$ERR" "no run nosuch"
expect_exit 2 wf show-run 'bad id'
assert_eq "$(wf list-runs -o ids | sort | tr '\n' ' ')" "run_2026 run_2026-05-01-aaaa run_2026-05-01-bbbb zeta " "runs after refused prefixes"

# resume and cancel-run by prefix act on the run named.
expect_exit 1 wf resume run_2026-05-01-b
assert_contains "$OUT" "run run_2026-05-01-bbbb resumed"
expect_exit 2 wf cancel-run ze
assert_contains "$ERR" "already finished"
ok wf delete-run ze run_2026-05-01-b
assert_eq "$(wf list-runs -o ids | sort | tr '\n' ' ')" "run_2026 run_2026-05-01-aaaa " "runs after delete-run by prefix"
