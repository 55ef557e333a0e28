# Many `wf start` at once on one store: no false damage report, no failure at all.
#
# Each of 150 processes opens the store while the others create it and commit to it, so
# the data file grows under every open. The length check of an open (a data file shorter
# than the pages its meta page names would fault on a read) must not mistake that growth
# for damage: before it read the length first and the meta page later, about 1 start in
# 50 said "the store is damaged ... restore it from a copy". Five rounds on a fresh store,
# then one on a store that already holds runs; every start must succeed and its run be
# recorded succeeded.
source "$(dirname "$0")/lib.sh" "$@"

N=150
ROUNDS=5
DEF=$SCRATCH/one.json
cat >"$DEF" <<'EOF'
{ "name": "one", "version": 1, "description": "one step",
  "stages": [ { "id": "a", "run": ["echo", "1"] } ] }
EOF

# round HOME TAG: N starts at once on store HOME; fail unless every one succeeded.
round() {
  local home=$1 tag=$2 i rc bad=0
  local -a pids=()
  for ((i = 0; i < N; i++)); do
    WF_HOME=$home "$WF" start "$DEF" --run-id "$tag-$i" </dev/null >"$SCRATCH/out.$i" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < N; i++)); do
    rc=0
    wait "${pids[$i]}" || rc=$?
    if ((rc != 0)) || grep -qi 'damaged' "$SCRATCH/out.$i"; then
      ((bad++ == 0)) && { echo "---- start $tag-$i exited $rc:" >&2; cat "$SCRATCH/out.$i" >&2; }
    fi
  done
  ((bad == 0)) || fail "$bad of $N concurrent starts ($tag) failed or reported damage"
  n=$(WF_HOME=$home "$WF" list-runs --status succeeded -o ids --limit 100000 </dev/null | grep -c "^$tag-" || true)
  assert_eq "$n" "$N" "runs of $tag recorded succeeded"
}

for ((r = 1; r <= ROUNDS; r++)); do
  note "round $r: $N starts at once on a fresh store"
  round "$SCRATCH/fresh$r" "r$r"
done
note "$N starts at once on a store that holds runs"
round "$SCRATCH/fresh1" "again"
