#!/usr/bin/env bash
# Run integration scripts with every wf process under valgrind memcheck.
#
#   tests/valgrind/run.sh WF_BINARY [SCRIPT...]
#
# SCRIPT is a name (t_demo), a file name (t_demo.sh) or a path; the default is every
# tests/integration/t_*.sh. One at a time, each script runs with a wrapper in place of
# wf that execs valgrind around WF_BINARY (so each wf process keeps its pid), logging to
# a scratch directory; the steps wf starts are not traced. Each script gives a line
#   VALGRIND script=<t_x> processes=<n> errors=<e> definite_leaks=<bytes> killed=<k>
#            test=pass|fail seconds=<s>
# and a last line, script=TOTAL, sums them. processes counts wf processes: those the
# script started and the workers of start --detach. killed counts the ones that could
# not report (ended by SIGKILL, or still running at the end). errors leaves out definite
# leaks, counted apart in bytes. Both come from the logs, not from the script: a
# script may fail under valgrind only because it checks timing, so a failing script is
# printed but does not change the exit status. Peak RSS limits of the scripts are scaled
# by WF_TEST_RSS_FACTOR (16 here), CMD_TIMEOUT (seconds per wf command in a script)
# defaults to 300, WF_VALGRIND_SCRIPT_TIMEOUT (per script) to 1800. The scratch
# directory is removed when all is clean (KEEP_SCRATCH=1 keeps it).
# Exits 1 on any valgrind error or definite leak, 2 on bad usage.
set -uo pipefail

usage() { sed -n '2,21s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
(($# >= 1)) || { usage >&2; exit 2; }
[[ $1 == -h || $1 == --help ]] && { usage; exit 0; }
bin=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tests=$(dirname "$here")

[[ -x $bin && -f $bin ]] || { echo "valgrind/run: no wf binary at $bin" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
command -v valgrind >/dev/null || { echo "valgrind/run: valgrind is not installed" >&2; exit 2; }

scripts=()
if (($# == 0)); then
  scripts=("$tests"/integration/t_*.sh)
fi
for a in "$@"; do
  s=$a
  [[ -f $s ]] || s=$tests/integration/${a%.sh}.sh
  [[ -f $s ]] || { echo "valgrind/run: no integration script $a" >&2; exit 2; }
  scripts+=("$(cd "$(dirname "$s")" && pwd)/$(basename "$s")")
done

export CMD_TIMEOUT=${CMD_TIMEOUT:-300}
# valgrind's own memory counts in a process's peak RSS (about 60 MiB for `wf --version`).
export WF_TEST_RSS_FACTOR=${WF_TEST_RSS_FACTOR:-16}
limit=${WF_VALGRIND_SCRIPT_TIMEOUT:-1800}
work=$(mktemp -d "${TMPDIR:-/tmp}/wf-valgrind.XXXXXX")

# summarize DIR: print "processes errors leaked_bytes killed" from DIR/vg.<pid>.log; a
# pid with a DIR/top.<pid> marker was started by the script (through the wrapper).
summarize() {
  local dir=$1 logs f tops=
  logs=("$dir"/vg.*.log)
  [[ -e ${logs[0]} ]] || { echo "0 0 0 0"; return; }
  for f in "$dir"/top.*; do [[ -e $f ]] && tops+=" ${f##*/top.}"; done
  awk -v tops="$tops" '
    function num(s) { gsub(/,/, "", s); return s + 0 }
    function flush() {
      if (pid == "") return
      if (done) { n++; err += sum - recs; lost += def }
      # No summary: a wf process that was SIGKILLed (one the script started, or the
      # worker a start --detach forked), else a step child, which exec-ed its command.
      else if (pid in top || (detach && parent in top)) { n++; killed++ }
    }
    BEGIN { split(tops, t, " "); for (i in t) top[t[i]] = 1 }
    FNR == 1 {
      flush()
      pid = FILENAME; sub(/.*vg\./, "", pid); sub(/\.log$/, "", pid)
      done = sum = recs = def = detach = 0; parent = ""
    }
    /^==[0-9]+== Parent PID: / { parent = $NF }
    /^==[0-9]+== Command: / && / --detach( |$)/ { detach = 1 }
    /^==[0-9]+== ERROR SUMMARY: / { done = 1; sum = num($4) }
    /are definitely lost in loss record/ { recs++ }
    /^==[0-9]+== +definitely lost: / { def = num($4) }
    END { flush(); print n + 0, err + 0, lost + 0, killed + 0 }
  ' "${logs[@]}"
}

total_n=0 total_e=0 total_l=0 total_k=0 failed=() t_start=$SECONDS
for script in "${scripts[@]}"; do
  name=$(basename "$script" .sh)
  d=$work/$name
  mkdir -p "$d/bin" "$d/vg"
  # The scripts find helper binaries beside wf (dirname wf/../tests/stubs).
  ln -s "$(dirname "$(dirname "$bin")")/tests" "$d/tests"
  {
    echo '#!/usr/bin/env bash'
    printf ': >%q/top.$$\n' "$d/vg"
    printf 'exec valgrind --tool=memcheck --vgdb=no --leak-check=full --errors-for-leak-kinds=definite'
    printf ' --error-exitcode=99 --num-callers=40 --log-file=%q %q "$@"\n' "$d/vg/vg.%p.log" "$bin"
  } >"$d/bin/wf"
  chmod +x "$d/bin/wf"

  t0=$SECONDS
  rc=0
  timeout -k 10 "$limit" bash "$script" "$d/bin/wf" "$tests" >"$d/test.log" 2>&1 </dev/null || rc=$?
  result=pass
  ((rc == 0)) || { result=fail; failed+=("$name"); }
  read -r n e l k < <(summarize "$d/vg")
  echo "VALGRIND script=$name processes=$n errors=$e definite_leaks=$l killed=$k test=$result" \
    "seconds=$((SECONDS - t0))"
  if ((rc != 0)); then
    echo "valgrind/run: $name exited $rc; its output: $d/test.log" >&2
    grep -m3 -E '^FAIL|timed out' "$d/test.log" | sed 's/^/  /' >&2
  fi
  if ((e + l > 0)); then
    grep -l -E 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$d"/vg/vg.*.log | sed 's/^/  report: /' >&2
  fi
  ((total_n += n, total_e += e, total_l += l, total_k += k))
done

result=pass
((${#failed[@]} == 0)) || { result=fail; echo "valgrind/run: failed: ${failed[*]}" >&2; }
echo "VALGRIND script=TOTAL processes=$total_n errors=$total_e definite_leaks=$total_l" \
  "killed=$total_k test=$result seconds=$((SECONDS - t_start))"
if ((total_e + total_l > 0 || ${#failed[@]} > 0)) || [[ -n ${KEEP_SCRATCH:-} ]]; then
  echo "valgrind/run: logs kept in $work" >&2
else
  rm -rf "$work"
fi
((total_e + total_l == 0))
