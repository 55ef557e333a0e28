#!/bin/sh
# Demo stage: write a Markdown report. Usage: report.sh OUT.md GREETING.
# Reads the step's JSON on stdin (inputs.summarize and inputs.process), prints
# {"report": OUT.md}.
set -eu
out=$1
greeting=$2
in=$(cat)
field() {
  printf '%s\n' "$in" | grep -o "\"$1\": *[0-9]*" | head -n 1 | sed 's/.*: *//'
}
{
  printf '# %s\n\n' "$greeting"
  printf 'Run `%s`: %s cities, %s people in all; %s of them have 5 million or more.\n\n' \
    "${WF_RUN_ID:-?}" "$(field cities)" "$(field total_population)" "$(field large)"
  printf '| city | population | size |\n|---|---:|---|\n'
  printf '%s\n' "$in" |
    grep -o '"name": *"[^"]*", *"population": *[0-9]*, *"size": *"[a-z]*"' |
    sed 's/"name": *"\([^"]*\)", *"population": *\([0-9]*\), *"size": *"\([a-z]*\)"/\2|\1|\3/' |
    sort -t '|' -k1,1nr |
    awk -F '|' '{ printf "| %s | %s | %s |\n", $2, $1, $3 }'
} > "$out"
esc=$(printf '%s' "$out" | sed 's/\\/\\\\/g; s/"/\\"/g')
printf '{"report":"%s"}\n' "$esc"
