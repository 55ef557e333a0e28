# The store's reader table: one slot per process that has the store open.
#
#  - 200 processes holding the store open at once (a run and 199 `wf logs --follow` of
#    it): every one works, and so do other commands beside them. LMDB's default table has
#    126 slots; with it the 127th process failed every command with "store error".
#  - When every slot is really taken (a store whose table was made with WF_MAX_READERS=8),
#    a command exits 5 saying how many slots there are and what to do.
#  - Slots left by processes killed with SIGKILL are cleared: once the holders are dead,
#    commands work again without anyone cleaning up.
# Reader slots are counted with mdb_stat -r (lmdb-utils, as t_corrupt's mdb_dump).
source "$(dirname "$0")/lib.sh" "$@"

command -v mdb_stat >/dev/null || fail "mdb_stat is required (apt-get install lmdb-utils)"

log=$SCRATCH/log
gate=$SCRATCH/gate

# readers: live slots of the reader table of $WF_HOME's store.
readers() {
  mdb_stat -r "$WF_HOME/store" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ { n++ } END { print n + 0 }'
}

# hold RUN N: start N `wf logs RUN --follow`, each keeping a reader slot while RUN runs;
# their pids go to HOLDERS.
hold() {
  local i
  HOLDERS=()
  for ((i = 0; i < $2; i++)); do
    start_bg "$SCRATCH/follow.$i" logs "$1" --follow
    HOLDERS+=("$BG")
  done
}

# holding N: N slots are taken, or a holder has ended (the checks after it say which).
holding() {
  local p
  (($(readers) >= $1)) && return 0
  for p in "${HOLDERS[@]}"; do pid_alive "$p" || return 0; done
  return 1
}

# kill_holders: SIGKILL the holders and reap them (quietly: no job reports).
kill_holders() {
  local p
  for p in "${HOLDERS[@]}"; do kill -9 "$p"; done
  for p in "${HOLDERS[@]}"; do wait "$p" || true; done
} 2>/dev/null

# ---- 200 processes at once ---------------------------------------------------------------
note "a run and 199 followers hold the store open at once"
touch "$gate"
start_bg "$SCRATCH/owner.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id R
owner=$BG
wait_for 20 has_lines "$log" 4
hold R 199
wait_for 60 holding 200
for ((i = 0; i < ${#HOLDERS[@]}; i++)); do
  pid_alive "${HOLDERS[$i]}" || { cat "$SCRATCH/follow.$i" >&2; fail "follower $i ended early"; }
done
ok wf show-run R
assert_contains "$OUT" "running"
ok wf list-runs
assert_contains "$OUT" "R"
rm -f "$gate"
wait_exit "$owner" 30
assert_eq "$RC" 0 "exit code of the followed run"
for ((i = 0; i < ${#HOLDERS[@]}; i++)); do
  wait_exit "${HOLDERS[$i]}" 30
  ((RC == 0)) || { cat "$SCRATCH/follow.$i" >&2; fail "follower $i exited $RC"; }
  assert_not_contains "$SCRATCH/follow.$i" "store error"
done

# ---- every slot taken --------------------------------------------------------------------
note "a store with 8 reader slots, all taken"
export WF_HOME=$SCRATCH/small
: >"$log"
touch "$gate"
env --default-signal=INT WF_MAX_READERS=8 "$WF" start "$DEFS/gate.json" -p log="$log" \
  -p gate="$gate" --run-id S </dev/null >"$SCRATCH/owner.out" 2>&1 &
owner=$!
BG_PIDS+=("$owner")
wait_for 20 has_lines "$log" 4
hold S 7
wait_for 30 holding 8
expect_exit 5 wf show-run S
assert_contains "$ERR" "all 8 reader slots of the store are in use"
assert_contains "$ERR" "$WF_HOME/store/lock.mdb"
assert_contains "$ERR" "WF_MAX_READERS="
assert_not_contains "$ERR" "store error"
[[ $(wc -l <"$ERR") == 1 ]] || { show_captured; fail "more than one line of error"; }

note "slots of killed processes are cleared"
kill_holders
ok wf show-run S
assert_contains "$OUT" "running"
hold S 7
wait_for 30 holding 8
kill_holders
rm -f "$gate"
wait_exit "$owner" 30
assert_eq "$RC" 0 "exit code of run S"
assert_eq "$(run_status S)" succeeded "status of run S"
