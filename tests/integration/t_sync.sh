# Every commit reaches the disk: a run of N sequential steps, traced with strace, syncs the
# store's data file at least once per step commit, and each meta page (what makes a commit
# the current state) is written through the O_DSYNC descriptor after the data it points to
# was synced. Killing processes cannot show a missing sync (the page cache survives them);
# only the system calls can. Skipped, saying why, where strace is missing or ptrace is not
# permitted (some containers): exit 77, which ctest reports as skipped.
source "$(dirname "$0")/lib.sh" "$@"

N=8
STRACE=${STRACE:-strace}

command -v "$STRACE" >/dev/null ||
  skip "strace is not installed (apt-get install strace): the system calls of a commit cannot be traced"
if ! "$STRACE" -f -qq -o "$SCRATCH/probe" true 2>"$SCRATCH/probe.err"; then
  skip "strace cannot trace here (ptrace not permitted?): $(head -c 300 "$SCRATCH/probe.err" | tr '\n' ' ')"
fi

# N sequential stages, each waiting for the one before: N separate step commits.
def=$SCRATCH/chain.json
{
  echo '{ "name": "chain", "version": 1, "stages": ['
  for ((i = 1; i <= N; i++)); do
    needs=
    ((i > 1)) && needs=", \"needs\": [\"s$((i - 1))\"]"
    printf '  { "id": "s%d"%s, "run": ["echo", "%d"] }%s\n' "$i" "$needs" "$i" "$( ((i < N)) && echo ,)"
  done
  echo '] }'
} >"$def"

trace=$SCRATCH/trace
# LeakSanitizer cannot work under ptrace (sanitizer builds): the leak checks are left to
# the other tests.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
ok "$STRACE" -f -qq -y -e signal=none -o "$trace" \
  -e trace=openat,open,fsync,fdatasync,sync_file_range,msync,write,pwrite64,writev,pwritev,pwritev2 \
  "$WF" start "$def" --run-id S
run_json S
assert_json "$SCRATCH/run.json" ".status == \"succeeded\" and .counts.succeeded == $N"

# Read the trace: descriptors of store/data.mdb per process (-y prints each fd's path),
# which of them were opened O_DSYNC/O_SYNC, the syncs of the data file, and the writes on
# a synchronous descriptor (the meta pages) with whether a sync came before each one.
read -r syncs metas unsynced < <(awk '
  { pid = $1 }
  /open(at)?\(.*store\/data\.mdb"/ && match($0, /= [0-9]+</) {
    fd = substr($0, RSTART + 2, RLENGTH - 3)
    dsync[pid ":" fd] = ($0 ~ /O_DSYNC|O_SYNC/)
    next
  }
  match($0, /(fsync|fdatasync|sync_file_range)\([0-9]+<[^>]*\/store\/data\.mdb>/) {
    syncs++
    synced[pid] = 1
    next
  }
  match($0, /(write|pwrite64|writev|pwritev2?)\([0-9]+<[^>]*\/store\/data\.mdb>/) {
    s = substr($0, RSTART, RLENGTH)
    sub(/^[a-z0-9]+\(/, "", s)
    sub(/<.*/, "", s)
    if (dsync[pid ":" s]) {
      metas++
      if (!synced[pid]) unsynced++
      synced[pid] = 0
    }
  }
  END { print syncs + 0, metas + 0, unsynced + 0 }' "$trace")

note "$N step commits: $syncs syncs of data.mdb, $metas synchronous meta-page writes, $unsynced without a sync before"
((syncs >= N)) || {
  grep -E "data\.mdb" "$trace" | cut -c1-150 | head -30 >&2
  fail "$syncs fsync/fdatasync calls on store/data.mdb for $N sequential step commits (want at least $N): commits are not synced"
}
((metas >= N)) || {
  grep -E "data\.mdb" "$trace" | cut -c1-150 | head -30 >&2
  fail "$metas meta-page writes through an O_DSYNC descriptor of store/data.mdb for $N step commits (want at least $N): the meta page is not written synchronously"
}
((unsynced == 0)) || fail "$unsynced meta-page writes were not preceded by a sync of the data they commit"

note "synced commits ok"
