# --since and --until take today, yesterday, now, ages (12h, 3d, 1w) and ISO dates and
# times with offsets; --status takes several statuses; bad values exit 2.
source "$(dirname "$0")/lib.sh" "$@"

log=$SCRATCH/log
ok wf start "$DEFS/three.json" -p log="$log" --run-id s1
expect_exit 1 wf start "$DEFS/fail.json" -p log="$log" --run-id f1
ok wf start "$DEFS/three.json" -p log="$log" --run-id s2
ids() {
  ok wf list-runs -o ids "$@"
  tr '\n' ' ' <"$OUT" | sed 's/ $//'
}
all="s2 f1 s1"
today=$(date -u +%F)
tomorrow=$(date -u -d tomorrow +%F)
for since in today yesterday 1h 3d 1w 90m 3600s "$today" "${today}T00:00" "${today}T00:00:00Z" \
  "${today} 00:00:00" "${today}T02:00:00+02:00" "${today}T00:00:00.000Z"; do
  assert_eq "$(ids --since "$since")" "$all" "list-runs --since $since"
done
for until in now "$tomorrow" "${tomorrow}T00:00-01:00" 0s; do
  assert_eq "$(ids --until "$until")" "$all" "list-runs --until $until"
done
assert_eq "$(ids --since "$tomorrow")" "" "list-runs --since tomorrow"
assert_eq "$(ids --until today)" "" "list-runs --until today"
assert_eq "$(ids --since yesterday --until today)" "" "list-runs yesterday only"
assert_eq "$(ids --since today --until now)" "$all" "list-runs today until now"
assert_eq "$(ids --status failed,succeeded)" "s2 f1 s1" "list-runs --status failed,succeeded"
assert_eq "$(ids --status failed)" "f1" "list-runs --status failed"
assert_eq "$(ids --status canceled,failed --since today)" "f1" "list-runs --status canceled,failed"

for bad in tomorrow 3x 1.5d -1d 2026-13-01 2026-02-30 2026-05-01T25:00 "2026-05-01 x" \
  2026-05-01T10:00+99:00 ""; do
  expect_exit 2 wf list-runs --since "$bad"
  assert_contains "$ERR" "--since"
  expect_exit 2 wf list-runs --until "$bad"
  expect_exit 2 wf gc --older-than "$bad"
done
expect_exit 2 wf list-runs --since now --until yesterday
assert_contains "$ERR" "is not after"
for bad in failed, ,failed failed,,canceled bogus "failed,Bogus"; do
  expect_exit 2 wf list-runs --status "$bad"
done
assert_eq "$(ids)" "$all" "the runs after bad filters"
