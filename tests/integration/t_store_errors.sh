# A store wf cannot use says why, on what, and what to do; exit 5 in every case.
#
#  - meta's schema value is 0, a string, nil or not msgpack: "not a wf store" (schema 0
#    was accepted, the others said only "store error"); nothing is written to it.
#  - the store's files are not writable by the user (EACCES): "permission denied on"
#    the store's folder, also when a new store's folders cannot be made.
#  - the store is on a read-only file system (EROFS, a read-only bind mount in a mount
#    namespace of its own): "read-only file system".
#  - the disk fills up during a run (ENOSPC, a 1 MiB tmpfs): "no space left on the device
#    holding" the data file, and how to resume.
# None of them may say "input/output error", which is what all of them said.
# EACCES runs wf as nobody (setpriv) when the test runs as root, else removes the write
# bits; EROFS and ENOSPC need `unshare -m` (as root) or `unshare -rm` (user namespaces).
source "$(dirname "$0")/lib.sh" "$@"

command -v mdb_load >/dev/null || fail "mdb_load is required (apt-get install lmdb-utils)"

DEF=$SCRATCH/one.json
cat >"$DEF" <<'EOF'
{ "name": "one", "version": 1, "description": "one step",
  "stages": [ { "id": "a", "run": ["echo", "1"] } ] }
EOF
chmod 0644 "$DEF"

# no_eio: the last command did not blame the disk.
no_eio() { assert_not_contains "$ERR" "input/output error"; }

# one_line: the last command printed one line on stderr.
one_line() { [[ $(wc -l <"$ERR") == 1 ]] || { show_captured; fail "stderr is not one line"; }; }

# ---- schema -----------------------------------------------------------------------------------
# set_schema HEX: put the msgpack bytes HEX as meta's "schema" value.
set_schema() {
  printf 'VERSION=3\nformat=bytevalue\ndatabase=meta\ntype=btree\nHEADER=END\n 736368656d61\n %s\nDATA=END\n' \
    "$1" | mdb_load -s meta "$WF_HOME/store" || fail "mdb_load failed"
}

ok wf start "$DEF" --run-id s1
for hex in 00 a3616263 c0 ff 9100; do
  note "schema value $hex"
  set_schema "$hex"
  sum=$(md5sum <"$WF_HOME/store/data.mdb")
  for cmd in "show-run s1" "list-runs" "start $DEF --run-id s2" "resume s1"; do
    # shellcheck disable=SC2086
    expect_exit 5 wf $cmd
    assert_contains "$ERR" "$WF_HOME/store is not a wf store"
    assert_not_contains "$ERR" "store error"
    one_line
  done
  assert_eq "$(md5sum <"$WF_HOME/store/data.mdb")" "$sum" "data.mdb after commands on schema $hex"
done
set_schema 04 # one above WFS_SCHEMA_VERSION
expect_exit 5 wf show-run s1
assert_contains "$ERR" "written by a newer wf"
set_schema 01
ok wf show-run s1
note "a store of schema 1 is stamped with schema 3 when opened, so an older wf refuses it"
mdb_dump -s meta "$WF_HOME/store" | grep -A1 '^ 736368656d61$' | tail -1 | grep -qx ' 03' ||
  fail "the schema was not stamped 3 after opening a schema-1 store"

# ---- EACCES -------------------------------------------------------------------------------------
note "a store the user may not write"
export WF_HOME=$SCRATCH/acc/home
ok wf start "$DEF" --run-id a1
if ((EUID == 0)); then
  # Readable by all, writable by root only; nobody runs wf.
  chmod 0711 "$SCRATCH"
  chmod -R go+rX "$SCRATCH/acc"
  AS_USER=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
else
  chmod -R a-w "$WF_HOME/store"
  AS_USER=(env)
fi
for cmd in "show-run a1" "list-runs" "start $DEF --run-id a2" "cancel-run a1"; do
  # shellcheck disable=SC2086
  expect_exit 5 "${AS_USER[@]}" "$WF" $cmd
  assert_contains "$ERR" "permission denied on $WF_HOME/store"
  no_eio
  one_line
done
note "a new store where the user may not make folders"
if ((EUID == 0)); then
  mkdir -p "$SCRATCH/ro-parent"
  chmod 0755 "$SCRATCH/ro-parent"
else
  mkdir -p "$SCRATCH/ro-parent"
  chmod 0555 "$SCRATCH/ro-parent"
fi
WF_HOME=$SCRATCH/ro-parent/home expect_exit 5 "${AS_USER[@]}" "$WF" start "$DEF"
assert_contains "$ERR" "permission denied on $SCRATCH/ro-parent/home"
no_eio
chmod -R u+w "$SCRATCH/acc" "$SCRATCH/ro-parent"
chmod 0700 "$SCRATCH"

# ---- EROFS and ENOSPC: in a mount namespace of our own ------------------------------------------
if ((EUID == 0)); then NS=(unshare -m); else NS=(unshare -rm); fi
if ! "${NS[@]}" true 2>/dev/null; then
  note "skipped EROFS and ENOSPC: '${NS[*]}' is not allowed here"
  exit 0
fi

# in_ns SCRIPT: run bash SCRIPT (with WF, DEF, SCRATCH set) in a new mount namespace.
in_ns() {
  WF=$WF DEF=$DEF SCRATCH=$SCRATCH "${NS[@]}" bash -c "set -eu; $1" </dev/null >"$OUT" 2>"$ERR"
}

note "a store on a read-only file system"
export WF_HOME=$SCRATCH/ro/home
ok wf start "$DEF" --run-id r1
for cmd in "show-run r1" "list-runs" "start \$DEF --run-id r2" "resume r1"; do
  RC=0
  in_ns "mount --bind -o ro \$SCRATCH/ro \$SCRATCH/ro; \$WF $cmd" || RC=$?
  assert_eq "$RC" 5 "exit code of wf $cmd on a read-only file system"
  assert_contains "$ERR" "$WF_HOME/store is on a read-only file system"
  no_eio
  one_line
done

note "a disk that fills up during a run"
export WF_HOME=$SCRATCH/full/home
mkdir -p "$SCRATCH/full"
BIG=$SCRATCH/big.json
cat >"$BIG" <<'EOF'
{ "name": "big", "version": 1, "description": "eight outputs of 400 kB that do not compress",
  "defaults": { "retry": { "max_attempts": 1 } },
  "stages": [
    { "id": "list", "run": ["echo", "[1,2,3,4,5,6,7,8]"] },
    { "id": "out", "needs": ["list"], "foreach": "${stages.list.output}", "key": "${item}",
      "run": ["sh", "-c", "printf '\"'; head -c 300000 /dev/urandom | base64 -w0; printf '\"'"] }
  ]
}
EOF
RC=0
in_ns "mount -t tmpfs -o size=1m tmpfs \$SCRATCH/full
  \$WF start $BIG --run-id f1 || rc=\$?
  \$WF show-run f1 -o json >$SCRATCH/full.json
  exit \${rc:-0}" || RC=$?
assert_eq "$RC" 5 "exit code of a run that filled the disk"
assert_contains "$ERR" "run f1 stopped"
assert_contains "$ERR" "no space left on the device holding $WF_HOME/store/data.mdb"
assert_contains "$ERR" "wf resume f1"
no_eio
assert_json "$SCRATCH/full.json" '.status == "interrupted" and (.error | test("no space left"))'
