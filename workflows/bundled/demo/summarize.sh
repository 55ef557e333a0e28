#!/bin/sh
# Demo stage: add up what "process" produced. Reads the step's JSON on stdin
# (inputs.process maps each city to {"name", "population", "size"}) and prints
# {"cities", "total_population", "large"}.
set -eu
in=$(cat)
printf '%s\n' "$in" | grep -o '"population": *[0-9]*' | sed 's/.*: *//' |
  awk -v large="$(printf '%s\n' "$in" | grep -o '"size": *"large"' | wc -l)" '
    { n++; total += $1 }
    END { printf "{\"cities\":%d,\"total_population\":%.0f,\"large\":%d}\n", n, total, large }'
