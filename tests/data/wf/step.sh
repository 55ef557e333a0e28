#!/bin/sh
# step.sh — the step body used by the integration test workflows.
# It prints one JSON value on stdout (the step output); diagnostics go to stderr.
#
#   step.sh mark LOG NAME            append "NAME" to LOG; output {"stage": NAME, "n": lines}
#   step.sh trace LOG WORD SECS      append "start <t> WORD <key>", sleep, append "end ..."
#   step.sh gate LOG NAME GATE       append "NAME <pid> <ppid>", wait while file GATE exists
#   step.sh flaky COUNTER FAILS      count attempts in COUNTER; fail the first FAILS of them
#   step.sh exit CODE                say so on stderr and exit CODE
#   step.sh failif VALUE BAD         fail when VALUE is BAD, else output VALUE
#   step.sh env LOG ARGS...          append the WF_* environment, ARGS and stdin (one line
#                                    of JSON, through jq) to LOG
set -eu
cmd=$1
shift
case $cmd in
  mark)
    echo "$2" >>"$1"
    printf '{"stage":"%s","n":%s}\n' "$2" "$(wc -l <"$1" | tr -d ' ')"
    ;;
  trace)
    echo "start $(date +%s.%N) $2 $WF_STEP_KEY" >>"$1"
    sleep "$3"
    echo "end $(date +%s.%N) $2 $WF_STEP_KEY" >>"$1"
    printf '"%s"\n' "$WF_STEP_KEY"
    ;;
  gate)
    echo "$2 $$ $PPID" >>"$1"
    while [ -e "$3" ]; do sleep 0.05; done
    printf '"%s"\n' "$2"
    ;;
  flaky)
    n=$(($(cat "$1" 2>/dev/null || echo 0) + 1))
    echo "$n" >"$1"
    echo "attempt $n $(date +%s.%N)" >>"$1.times"
    if [ "$n" -le "$2" ]; then
      echo "flaky: failing attempt $n on purpose" >&2
      exit 1
    fi
    echo "$n"
    ;;
  exit)
    echo "step.sh: exiting with $1 on purpose" >&2
    exit "$1"
    ;;
  failif)
    if [ "$1" = "$2" ]; then
      echo "failif: item $1 fails on purpose" >&2
      exit 1
    fi
    echo "$1"
    ;;
  env)
    # One write at the end, so that concurrent steps do not interleave their lines.
    tmp=$(mktemp)
    {
      echo "WF_RUN_ID=$WF_RUN_ID"
      echo "WF_STEP_KEY=$WF_STEP_KEY"
      echo "WF_ATTEMPT=$WF_ATTEMPT"
      echo "WF_IDEMPOTENCY_KEY=$WF_IDEMPOTENCY_KEY"
      echo "WF_RUN_DIR=$WF_RUN_DIR"
      echo "ARGS=$*"
      printf 'STDIN='
      jq -c .
    } >"$tmp"
    cat "$tmp" >>"$1"
    rm -f "$tmp"
    echo '{"ok":true}'
    ;;
  *)
    echo "step.sh: unknown command $cmd" >&2
    exit 64
    ;;
esac
