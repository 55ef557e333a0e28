# torture.sh <wf> <tests-dir> <deaths>: kill -9 torture across workflows of every shape.
#
# Two workflows, run one after the other with windows 2, 4, 8 and 16 in turn:
#   mixed: a step that lists work; a chain of five sequential stages, each checking the
#          output of the one before; a fan-out of 48 items (concurrency 6, at most 2 of
#          class "a" at once) next to a fan-out of 24 items that fail their first one or
#          two attempts and are retried; a last step that checks every output it got.
#   deep:  24 sequential stages, each checking its predecessor's output; every fourth
#          fails its first attempt and is retried.
# Every step is an exec step that first appends "<step key> <pid> <attempt>" to a side
# file. A step that gets a wrong input exits 3, which is not retried: the run fails.
# The owning wf process dies <deaths> times, each death one of:
#   - SIGKILL after a random 0.05..0.8 s, its steps' process groups killed with it (2/5);
#   - power cut: the same, but the process is frozen first and the store's files copied:
#     the copy must open, its indexes agree, and it must hold the same step states (1/5);
#   - WF_FAULT=after-put:N: killed inside its N-th store write, before the commit (1/5);
#   - WF_FAULT=after-commit:N: killed after the N-th commit, before acknowledging it (1/5);
# then `wf resume`. After every death: the store opens, the indexes agree with the runs
# and the run records' counts with their steps (see lib.sh), and a snapshot is taken of
# the steps recorded succeeded. When a run ends: it succeeded, every step executed, none
# executed again after it was recorded succeeded, every recorded output is the expected
# one, and the executions beyond those needed (a retried step needs its failed attempts)
# are at most 2 x window per death.
# Prints "torture: deaths=D (kill K, power W, after-put P, after-commit C) runs=R
# copies-checked=N extra=X (bound B)".
CRASH_DIR=$(cd "$(dirname "$0")" && pwd)
source "$CRASH_DIR/../integration/lib.sh" "$1" "$2"
source "$CRASH_DIR/lib.sh"

DEATHS=${3:?usage: torture.sh <wf> <tests-dir> <deaths>}
NFAN=48
NFLAKY=24
NDEEP=24
WINDOWS=(2 4 8 16)
command -v mdb_dump >/dev/null || fail "mdb_dump is required (apt-get install lmdb-utils)"

# Every step runs `sh -c "$REC; ..." sh LOG ARGS...`: $1 is the side file.
REC='echo "$WF_STEP_KEY $$ $WF_ATTEMPT" >> "$1"'

jq -n --arg rec "$REC" --arg q "'" --argjson nfan "$NFAN" --argjson nflaky "$NFLAKY" '
  ([range($nfan) | { id: ., c: (if . % 3 == 0 then "a" else "b" end) }] as $fan
   | { fan: $fan, flaky: [range($nflaky)] }) as $list
  | def step(body): ["sh", "-c", ($rec + "; " + body), "sh", "${params.log}"];
  {
    name: "mixed", version: 1,
    description: "a list, a chain of five, two fan-outs (one retried) and a check",
    params: { log: { type: "string", required: true } },
    defaults: { retry: { max_attempts: 3, initial_interval_s: 0.02, backoff: 2,
                         non_retryable_exit_codes: [3] }, timeout_s: 60 },
    stages: ([
      { id: "list", run: step("echo " + $q + ($list | tojson) + $q) },
      { id: "s1", needs: ["list"], run: step("sleep 0.02; echo 1") }
    ] + [range(2; 6) as $k |
      { id: "s\($k)", needs: ["s\($k - 1)"],
        run: (step("[ \"$2\" = \($k - 1) ] || exit 3; sleep 0.0\($k); echo \($k)") + ["${stages.s\($k - 1).output}"]) }
    ] + [
      { id: "fan", needs: ["list", "s2"], foreach: "${stages.list.output.fan}", key: "${item.id}",
        class: "${item.c}", concurrency: 6, by_class: { a: 2 },
        run: (step("sleep 0.0$(($2 % 4 + 2)); echo $(($2 * 2))") + ["${item.id}"]) },
      { id: "flaky", needs: ["list"], foreach: "${stages.list.output.flaky}", key: "${item}",
        concurrency: 4, retry: { max_attempts: 4, initial_interval_s: 0.02, backoff: 1.5,
                                 non_retryable_exit_codes: [3] },
        run: (step("sleep 0.02; [ \"$WF_ATTEMPT\" -gt $(($2 % 3)) ] || exit 1; echo $2") + ["${item}"]) },
      { id: "merge", needs: ["fan", "flaky", "s5"],
        run: (step("printf %s \"$2\" | jq -e \"length == \($nfan) and all(to_entries[]; .value == (.key | tonumber) * 2)\" >/dev/null || exit 3; printf %s \"$3\" | jq -e \"length == \($nflaky) and all(to_entries[]; .value == (.key | tonumber))\" >/dev/null || exit 3; [ \"$4\" = 5 ] || exit 3; echo \\\"ok\\\"")
              + ["${stages.fan.output}", "${stages.flaky.output}", "${stages.s5.output}"]) }
    ])
  }' >"$SCRATCH/mixed.json" || fail "cannot write mixed.json"

jq -n --arg rec "$REC" --argjson n "$NDEEP" '
  def step(body): ["sh", "-c", ($rec + "; " + body), "sh", "${params.log}"];
  def id(k): "c" + (if k < 10 then "0" else "" end) + (k | tostring);
  {
    name: "deep", version: 1,
    description: "a chain of sequential stages, every fourth retried once",
    params: { log: { type: "string", required: true } },
    defaults: { retry: { max_attempts: 3, initial_interval_s: 0.02, backoff: 2,
                         non_retryable_exit_codes: [3] }, timeout_s: 60 },
    stages: ([{ id: id(1), run: step("sleep 0.02; echo 1") }]
      + [range(2; $n + 1) as $k |
          { id: id($k), needs: [id($k - 1)],
            run: (step("[ \"$2\" = \($k - 1) ] || exit 3; "
                       + (if $k % 4 == 0 then "[ \"$WF_ATTEMPT\" -gt 1 ] || exit 1; " else "" end)
                       + "sleep 0.0\($k % 5 + 1); echo \($k)")
                  + ["${stages.\(id($k - 1)).output}"]) }])
  }' >"$SCRATCH/deep.json" || fail "cannot write deep.json"

# expected WORKFLOW: "<step> <executions needed> <output>" for every step of a run.
expected() {
  local i
  case $1 in
    mixed)
      echo "list 1 -"
      for i in 1 2 3 4 5; do echo "s$i 1 $i"; done
      for ((i = 0; i < NFAN; i++)); do echo "fan/$i 1 $((i * 2))"; done
      for ((i = 0; i < NFLAKY; i++)); do echo "flaky/$i $((i % 3 + 1)) $i"; done
      echo 'merge 1 "ok"'
      ;;
    deep)
      for ((i = 1; i <= NDEEP; i++)); do
        printf 'c%02d %d %d\n' "$i" $((i % 4 == 0 ? 2 : 1)) "$i"
      done
      ;;
  esac
}

# verify_run: the end-of-run checks of the run in progress; adds to $extra.
verify_run() {
  local json=$SCRATCH/run.json bad x
  WHEN="end of run $id"
  "$WF" show-run "$id" -o json </dev/null >"$json" || fail "show-run $id"
  [[ $(jq -r .status "$json") == succeeded ]] || fail "run $id ($wfname) is $(jq -r .status "$json")"
  check_indexes
  check_run "$json" "$id"
  expected "$wfname" >"$SCRATCH/expected"
  assert_eq "$(recorded_keys "$json" | sort)" "$(awk '{ print $1 }' "$SCRATCH/expected" | sort)" \
    "steps recorded succeeded in run $id ($wfname)"
  # every output as expected (the list's is checked by the steps that read it)
  bad=$(jq -r '.steps[] | "\(.key) \(.output | tojson)"' "$json" |
    awk 'FNR == NR { want[$1] = $3; next } ($1 in want) && want[$1] != "-" && $2 != want[$1] { print $1 ": " $2 " (expected " want[$1] ")" }' \
      "$SCRATCH/expected" -)
  [[ -z $bad ]] || fail "run $id recorded wrong outputs: $bad"
  check_all_ran "run $id" "$log" "$SCRATCH/expected"
  check_not_rerun "run $id" "$log" "$snaps"
  # executions beyond those needed
  x=$(awk 'FNR == NR { need[$1] = $2; next } { n[$1]++ }
           END { for (k in n) if (n[k] > need[k]) x += n[k] - need[k]; print x + 0 }' "$SCRATCH/expected" "$log")
  extra=$((extra + x))
  bound=$((bound + run_deaths * 2 * window))
}

# check_copy: the store files copied at the instant of the last death open, their indexes
# agree, and they hold the step states the store holds after the death.
check_copy() {
  local c=$SCRATCH/copy
  WHEN="copy at death $deaths, run $id"
  "$WF" --home "$c" show-run "$id" -o json </dev/null >"$SCRATCH/copy.json" 2>"$SCRATCH/copy.err" ||
    { cat "$SCRATCH/copy.err" >&2; fail "show-run of the store copied at death $deaths fails"; }
  WF_HOME=$c check_indexes
  check_run "$SCRATCH/copy.json" "$id"
  [[ $(jq -r '.status, (.steps[] | "\(.key) \(.status)")' "$SCRATCH/copy.json" | sort) == \
     $(jq -r '.status, (.steps[] | "\(.key) \(.status)")' "$SCRATCH/snap.json" | sort) ]] ||
    fail "the store copied at death $deaths and the store after it disagree on run $id"
  copies=$((copies + 1))
}

deaths=0
kills=0
powers=0
copies=0
puts=0
commits=0
extra=0
bound=0
run_no=0
next_run() {
  run_no=$((run_no + 1))
  id=torture-$run_no
  log=$SCRATCH/exec-$run_no.log
  snaps=$SCRATCH/snaps-$run_no
  : >"$log"
  : >"$snaps"
  if ((run_no % 2)); then wfname=mixed; else wfname=deep; fi
  window=${WINDOWS[$(((run_no - 1) / 2 % ${#WINDOWS[@]}))]}
  run_deaths=0
  state=new
}
next_run

while ((deaths < DEATHS)); do
  if [[ $state == new ]]; then
    args=(start "$SCRATCH/$wfname.json" --run-id "$id" -p log="$log" --window "$window")
  else
    args=(resume "$id")
  fi
  mode=$((RANDOM % 5))
  rc=0
  if ((mode < 2 || mode == 4)); then
    if ((mode == 4)); then how=power; else how=kill; fi
    start_bg "$SCRATCH/wf.out" "${args[@]}"
    pid=$BG
    sleep "$(rand_sleep 0.8)"
    if [[ $how == power ]] && kill -STOP "$pid" 2>/dev/null && pid_alive "$pid"; then
      for c in $(children "$pid"); do kill -9 -- "-$c" 2>/dev/null || kill -9 "$c" 2>/dev/null || true; done
      rm -rf "$SCRATCH/copy"
      mkdir -p "$SCRATCH/copy/store"
      cp "$WF_HOME/store/data.mdb" "$WF_HOME/store/lock.mdb" "$SCRATCH/copy/store/"
      kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      rc=137
    elif pid_alive "$pid"; then
      crash "$pid"
      rc=137
    else
      wait "$pid" || rc=$?
    fi
    BG_PIDS=()
  else
    if ((mode == 2)); then how=after-put; else how=after-commit; fi
    fault=$how:$((RANDOM % 40 + 1))
    # (The braces keep bash from reporting the death on stderr.)
    { WF_FAULT=$fault timeout -k 5 120 "$WF" "${args[@]}" </dev/null >"$SCRATCH/wf.out" 2>&1; } 2>/dev/null || rc=$?
    # The steps of the dead process live on in their own groups; each writes its line
    # first and lasts at most 60 ms: let them end before the snapshot.
    ((rc == 137)) && sleep 0.2
  fi
  WHEN="death $deaths, $how, run $id"
  case $rc in
    137)
      deaths=$((deaths + 1))
      run_deaths=$((run_deaths + 1))
      case $how in
        kill) kills=$((kills + 1)) ;; power) powers=$((powers + 1)) ;;
        after-put) puts=$((puts + 1)) ;; *) commits=$((commits + 1)) ;;
      esac
      WHEN="death $deaths ($how), run $id"
      ;;
    0) ;;
    *) cat "$SCRATCH/wf.out" >&2; fail "wf ${args[*]} ($how) exited $rc" ;;
  esac

  expect_exit 0 wf list-runs -o json
  jq -e 'type == "array"' "$OUT" >/dev/null || fail "list-runs -o json is not an array ($WHEN)"
  check_indexes
  rcs=0
  "$WF" show-run "$id" -o json >"$SCRATCH/snap.json" 2>"$SCRATCH/snap.err" </dev/null || rcs=$?
  if ((rcs == 3)) && [[ $state == new && $rc == 137 ]]; then
    continue  # died before the run was recorded: start it again
  fi
  ((rcs == 0)) || { cat "$SCRATCH/snap.err" >&2; fail "show-run $id exited $rcs ($WHEN)"; }
  state=begun
  check_run "$SCRATCH/snap.json" "$id"
  [[ $how == power && $rc == 137 ]] && check_copy
  snapshot "$SCRATCH/snap.json" "$log" "$snaps"
  status=$(jq -r .status "$SCRATCH/snap.json")
  case $status in
    succeeded) verify_run; next_run ;;
    interrupted | pending)
      [[ $rc == 137 ]] || { cat "$SCRATCH/wf.out" >&2; fail "wf exited $rc leaving run $id $status"; } ;;
    *) cat "$SCRATCH/wf.out" >&2; jq -c '.steps[] | select(.status != "succeeded")' "$SCRATCH/snap.json" >&2
       fail "run $id ($wfname) is '$status' ($WHEN, wf exited $rc)" ;;
  esac
done

runs=$((run_no - 1))
if [[ $state == begun ]]; then
  CMD_TIMEOUT=300 ok wf resume "$id"
  verify_run
  runs=$run_no
fi
echo "torture: deaths=$deaths (kill $kills, power $powers, after-put $puts, after-commit $commits)" \
  "runs=$runs copies-checked=$copies \
extra=$extra (bound $bound)"
((extra <= bound)) || fail "$extra executions beyond those needed exceed 2 x window per death ($bound)"
