# The manual page wf(1) says what --help says: both are printed from the same tables.
#  - the page the build made (man/wf.1, installed by cmake --install) is `wf --man`;
#  - every command `wf --help` lists has a section, and nothing else has one;
#  - each command's description and each of its options (name, value, help) as
#    `wf CMD --help` prints them are in its section, word for word;
#  - groff formats it without a warning and `man -l` renders it, when they are installed.
source "$(dirname "$0")/lib.sh" "$@"

ok wf --man
cp "$OUT" "$SCRATCH/wf.1"
BUILT=$(dirname "$WF")/../man/wf.1
[[ -f $BUILT ]] || fail "the build made no manual page at $BUILT"
cmp -s "$BUILT" "$SCRATCH/wf.1" || fail "$BUILT is not what wf --man prints (rebuild)"
assert_contains "$SCRATCH/wf.1" '.TH WF 1'

# flat FILE: its text on one line, runs of blanks made one space.
flat() { tr '\n' ' ' <"$1" | tr -s ' \t' '  '; }
# text_of: roff on stdin as the words it shows: escapes undone, requests dropped.
text_of() {
  sed -e '/^\.\\"/d' -e 's/^\.\(SS\|SH\|TP\|PP\|B\|I\|TH\|nh\|ad\|nf\|fi\|BR\)\( \|$\)//' \
    -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\&//g' -e 's/\\e/\\/g' |
    perl -CS -pe 's/\\\[u([0-9A-F]{4,6})\]/chr(hex($1))/ge'
}

ok wf --help
cp "$OUT" "$SCRATCH/main_help"
mapfile -t COMMANDS < <(sed -n '/^commands:$/,/^$/{/^  [a-z]/p}' "$SCRATCH/main_help" | awk '{print $1}')
((${#COMMANDS[@]} >= 10)) || fail "wf --help lists ${#COMMANDS[@]} commands"
mapfile -t SECTIONS < <(sed -n 's/^\.SS wf //p' "$SCRATCH/wf.1" | sed 's/\\-/-/g')
assert_eq "${SECTIONS[*]}" "${COMMANDS[*]}" "commands of the manual page"

# The global options as --help lists them.
sed -n '/^global options/,/^$/p' "$SCRATCH/main_help" | tail -n +2 >"$SCRATCH/globals"
sed -n '/^\.SH GLOBAL OPTIONS/,/^\.SH COMMANDS/p' "$SCRATCH/wf.1" | text_of >"$SCRATCH/man_globals"
while IFS= read -r line; do
  [[ -n $line ]] || continue
  [[ $(flat "$SCRATCH/man_globals") == *"$(echo "$line" | tr -s ' ')"* ]] ||
    fail "the manual's global options lack: $line"
done < <(awk '/^  -/ { if (e) print e; e = $0; next } /^ +/ { e = e " " $0 } END { if (e) print e }' "$SCRATCH/globals")

for c in "${COMMANDS[@]}"; do
  ok wf "$c" --help
  cp "$OUT" "$SCRATCH/help"
  # its section of the page, as text
  awk -v want=".SS wf $(echo "$c" | sed 's/-/\\\\-/g')" \
    '/^\.S[SH] / { on = ($0 == want) } on' "$SCRATCH/wf.1" | text_of >"$SCRATCH/section"
  [[ -s $SCRATCH/section ]] || fail "no section for $c in the manual page"
  man_text=$(flat "$SCRATCH/section")
  # usage line, description (up to "options:"), and each option with its help
  usage=$(head -1 "$SCRATCH/help" | sed 's/^usage: //')
  [[ $man_text == *"$usage"* ]] || fail "the manual's $c section lacks its usage: $usage"
  desc=$(sed -n '3,/^options:$/p' "$SCRATCH/help" | grep -v '^options:$' | tr '\n' ' ' | tr -s ' ')
  desc=${desc% }
  [[ $man_text == *"$desc"* ]] || fail "the manual's $c section lacks its description: $desc"
  nopts=0
  while IFS= read -r entry; do
    nopts=$((nopts + 1))
    entry=$(echo "$entry" | tr -s ' ')
    [[ $man_text == *"${entry# }"* ]] || fail "the manual's $c section lacks the option: $entry"
  done < <(sed -n '/^options:$/,$p' "$SCRATCH/help" | tail -n +2 |
    awk '/^  -/ { if (e) print e; e = $0; next } /^ +/ { e = e " " $0 } END { if (e) print e }')
  if grep -q '^options:$' "$SCRATCH/help"; then
    ((nopts > 0)) || fail "wf $c --help has an options section without options"
  fi
done
note "the manual page has every command and option as --help has it"

if command -v groff >/dev/null; then
  warnings=$(groff -man -ww -z "$SCRATCH/wf.1" 2>&1)
  [[ -z $warnings ]] || fail "groff warns about wf.1: $warnings"
fi
if command -v man >/dev/null; then
  MANWIDTH=100 man -l "$SCRATCH/wf.1" >"$SCRATCH/rendered" 2>"$SCRATCH/man_err" ||
    fail "man -l cannot render wf.1: $(cat "$SCRATCH/man_err")"
  for c in "${COMMANDS[@]}"; do assert_contains "$SCRATCH/rendered" "wf $c"; done
  assert_contains "$SCRATCH/rendered" "--dry-run"
  note "man -l renders it"
else
  note "man is not installed: the rendering is not checked"
fi
