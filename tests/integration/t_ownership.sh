#!/usr/bin/env bash
# t_ownership.sh — one owner per run, fenced. A live owner is seen through its lock
# from another PID namespace; a stuck owner can be taken over with resume --force, and
# when it wakes it records nothing more; a cancel request made while the owner is frozen
# is not overwritten; SIGHUP stops a run like SIGTERM (nohup is respected); the retry
# budget counts attempts across crashes; an owner on another kernel is named with its host.
# Namespaces need root (unshare): without them those parts print SKIP and are left out.
source "$(dirname "$0")/lib.sh"

OWNED=$DEFS/owned.json
can_unshare_pid=0
can_unshare_mnt=0
unshare -p -f --mount-proc true 2>/dev/null && can_unshare_pid=1
unshare -m true 2>/dev/null && can_unshare_mnt=1

# starts LOG KEY / ends LOG KEY: how many times step KEY started / finished.
starts() { grep -c "^start $2 " "$1" || true; }
ends() { grep -c "^end $2 " "$1" || true; }

# history_sane ID: event sequence numbers are 0..n-1 with none missing or repeated, and
# every step of the run succeeded exactly once in its history.
history_sane() {
  run_json "$1" --history
  assert_json "$SCRATCH/run.json" '[.events[].seq] == [range(0; .events | length)]'
  assert_json "$SCRATCH/run.json" \
    '[.events[] | select(.type == "step_succeeded") | .step] | group_by(.) | all(length == 1)'
}

# ---- SIGHUP: the terminal closed -----------------------------------------------------------
note "SIGHUP stops the run like SIGTERM: steps killed, exit 130, resumable"
start_bg hup.out start "$OWNED" --run-id hup -p log="$SCRATCH/hup.log" -p n=6
wait_for 10 at_least "$SCRATCH/hup.log" 2
kill -HUP "$BG"
wait_exit "$BG" 10
assert_eq "$RC" 130 "exit code after SIGHUP"
assert_contains hup.out "interrupted by SIGHUP"
for pid in $(awk '{ print $3 }' "$SCRATCH/hup.log"); do
  pid_alive "$pid" && fail "step process $pid outlived its owner's SIGHUP"
done
assert_eq "$(run_status hup)" interrupted "status after SIGHUP"
ok wf resume hup
for k in 0 1 2 3 4 5; do assert_eq "$(ends "$SCRATCH/hup.log" $k)" 1 "step $k finished"; done

note "under nohup, SIGHUP is left ignored"
nohup "$WF" start "$OWNED" --run-id nohup -p log="$SCRATCH/nohup.log" -p n=3 -p sleep=0.5 \
  </dev/null >nohup.out 2>&1 &
BG=$!
BG_PIDS+=("$BG")
wait_for 10 at_least "$SCRATCH/nohup.log" 1
kill -HUP "$BG"
wait_exit "$BG" 20
assert_eq "$RC" 0 "exit code of a nohup run sent SIGHUP"

# ---- another PID namespace -------------------------------------------------------------------
if ((can_unshare_pid)); then
  note "an owner in another PID namespace is live: resume refused, cancel reaches it"
  unshare -p -f --mount-proc "$WF" start "$OWNED" --run-id ns -p log="$SCRATCH/ns.log" \
    -p n=10 </dev/null >ns.out 2>&1 &
  BG=$!
  BG_PIDS+=("$BG")
  wait_for 10 at_least "$SCRATCH/ns.log" 2
  assert_eq "$(run_status ns)" running "status seen from outside the namespace"
  expect_exit 1 wf resume ns
  assert_contains "$ERR" "another PID namespace"
  assert_contains "$ERR" "wf resume --force ns"
  expect_exit 0 wf cancel-run ns
  assert_contains "$OUT" "canceled"
  wait_exit "$BG" 10
  assert_eq "$RC" 1 "exit code of the canceled owner"
  assert_eq "$(run_status ns)" canceled "status after cancel-run"
  for k in $(seq 0 9); do
    n=$(starts "$SCRATCH/ns.log" $k)
    ((n <= 1)) || fail "step $k started $n times"
  done
else
  echo "SKIP: unshare -p is not permitted here; the PID namespace case is not checked"
fi

# ---- a frozen owner, taken over ---------------------------------------------------------------
note "a stopped owner blocks resume; resume --force takes over; the old owner is fenced"
start_bg fz.out start "$OWNED" --run-id fz -p log="$SCRATCH/fz.log" -p n=10
old=$BG
wait_for 10 at_least "$SCRATCH/fz.log" 2
kill -STOP "$old"
frozen_starts=$(grep -c '^start' "$SCRATCH/fz.log")
expect_exit 1 wf resume fz
assert_contains "$ERR" "is owned by pid $old"
assert_contains "$ERR" "wf resume --force fz"
ok wf show-run fz
assert_contains "$OUT" "running (pid $old"
start_bg force.out resume --force fz
new=$BG
sleep 1.5 # the frozen owner's steps finish meanwhile: it has completions to commit
kill -CONT "$old"
wait_exit "$old" 15
assert_eq "$RC" 6 "exit code of the owner taken over from"
assert_contains fz.out "was taken from this process by pid $new"
assert_contains fz.out "recorded nothing more"
wait_exit "$new" 30
assert_eq "$RC" 0 "exit code of the new owner"
assert_contains force.out "taken over"
assert_eq "$(run_status fz)" succeeded "status after the takeover"
history_sane fz
assert_json "$SCRATCH/run.json" \
  '[.events[] | select(.type == "run_resumed" and (.detail | test("taken over")))] | length == 1'
# Only steps the frozen owner had started may have run twice.
head -n "$frozen_starts" "$SCRATCH/fz.log" | awk '$1 == "start" { print $2 }' | sort >in_flight
for k in $(seq 0 9); do
  n=$(starts "$SCRATCH/fz.log" $k)
  if grep -qx "$k" in_flight; then ((n <= 2)) || fail "step $k started $n times"
  else ((n == 1)) || fail "step $k, not in flight at the freeze, started $n times"; fi
done

# ---- a cancel request made while the owner is frozen --------------------------------------
note "cancel-run while the owner is stopped: the request survives its next commit"
start_bg cx.out start "$OWNED" --run-id cx -p log="$SCRATCH/cx.log" -p n=10
wait_for 10 at_least "$SCRATCH/cx.log" 2
kill -STOP "$BG"
expect_exit 0 wf cancel-run cx --no-wait
assert_contains "$OUT" "cancel requested"
sleep 1.5
kill -CONT "$BG"
wait_exit "$BG" 15
assert_eq "$RC" 1 "exit code of the canceled run"
assert_eq "$(run_status cx)" canceled "status after a cancel made while frozen"
run_json cx --history
assert_json "$SCRATCH/run.json" '[.events[].seq] == [range(0; .events | length)]'
assert_json "$SCRATCH/run.json" '[.events[] | select(.type == "run_cancel_requested")] | length == 1'

# ---- the retry budget across crashes ------------------------------------------------------
note "max_attempts 3, killed in every backoff and resumed: 3 attempts in all"
att=$SCRATCH/attempts.log
start_bg rb.out start "$DEFS/always_fails.json" --run-id rb -p log="$att"
for round in 1 2 3 4 5; do
  seen=$(lines "$att")
  wait_for 10 at_least "$att" $((seen + 1))
  sleep 0.5 # the failed attempt is committed; the step waits out its backoff
  kill -9 "$BG" 2>/dev/null || true
  wait "$BG" 2>/dev/null || true
  [[ $(run_status rb) == failed ]] && break
  start_bg rb.out resume rb
done
assert_eq "$(run_status rb)" failed "status once the budget is spent"
assert_eq "$(lines "$att")" 3 "attempts made across crashes"
assert_eq "$(step_field rb flaky attempt)" 3 "recorded attempt"
note "an explicit resume of the failed run gives the step a new budget"
expect_exit 1 wf resume rb
assert_eq "$(lines "$att")" 6 "attempts after resuming the failed run"

# ---- an owner on another kernel ------------------------------------------------------------
if ((can_unshare_mnt)); then
  note "an owner on another kernel (its own boot id) is named with its host; --force fences it"
  start_elsewhere far.out start "$OWNED" --run-id far -p log="$SCRATCH/far.log" -p n=8
  far=$BG
  wait_for 10 at_least "$SCRATCH/far.log" 2
  expect_exit 1 wf resume far
  assert_contains "$ERR" "another machine"
  assert_contains "$ERR" "on $(hostname)"
  assert_contains "$ERR" "wf resume --force far"
  kill -STOP "$far"
  start_bg farforce.out resume --force far
  sleep 1.5
  kill -CONT "$far"
  wait_exit "$far" 15
  assert_eq "$RC" 6 "exit code of the far owner taken over from"
  wait_exit "$BG" 30
  assert_eq "$RC" 0 "exit code of the new owner"
  history_sane far
else
  echo "SKIP: unshare -m is not permitted here; the other-kernel case is not checked"
fi

note "ok"
