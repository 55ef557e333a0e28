#!/bin/sh
# One fan-out step of the demo: classify a city by population.
# Usage: process.sh NAME POPULATION. Prints {"name", "population", "size"}.
set -eu
name=$1
pop=$2
case $pop in
  ''|*[!0-9]*) echo "process.sh: population of $name is not a number: $pop" >&2; exit 2 ;;
esac

# Pretend to work for 0.2-0.6 s, the same time for the same city on every run.
sum=$(printf '%s' "$name" | cksum | cut -d' ' -f1)
sleep "0.$((200 + sum % 400))"

if [ "$pop" -ge 5000000 ]; then size=large
elif [ "$pop" -ge 1000000 ]; then size=medium
else size=small
fi
esc=$(printf '%s' "$name" | sed 's/\\/\\\\/g; s/"/\\"/g')
printf '{"name":"%s","population":%s,"size":"%s"}\n' "$esc" "$pop" "$size"
echo "processed $name: $size" >&2
