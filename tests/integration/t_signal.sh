# SIGINT (and SIGTERM) to the owner: exit 130, the run is left interrupted and resumable,
# its steps do not keep running; resume finishes it.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
gate=$SCRATCH/gate

for sig in INT TERM; do
  id=s-$sig
  touch "$gate"
  : >"$log"
  start_bg "$SCRATCH/owner.out" start "$DEFS/gate.json" -p log="$log" -p gate="$gate" --run-id "$id"
  owner=$BG
  wait_for 20 has_lines "$log" 4
  step_pids=$(awk '{ print $2 }' "$log")
  kill -"$sig" "$owner"
  wait_exit "$owner" 5
  assert_eq "$RC" 130 "exit code after SIG$sig"
  assert_contains "$SCRATCH/owner.out" "wf resume $id"
  assert_eq "$(run_status "$id")" interrupted "status after SIG$sig"
  for p in $step_pids; do
    wait_for 5 eval "! group_alive $p"
  done
  assert_not_contains "$log" "done"

  rm -f "$gate"
  : >"$log"
  if [[ $sig == INT ]]; then
    ok wf resume "$id"
  else
    ok wf resume --all
  fi
  assert_eq "$(run_status "$id")" succeeded "status after resume (SIG$sig)"
  assert_eq "$(sort "$log" | awk '{ print $1 }' | tr '\n' ' ')" "0 1 2 3 done " "steps run by resume (SIG$sig)"
done

note "signals ok"
