#!/usr/bin/env bash
# cli_api.sh <source-dir>: the CLI reads and controls runs through the public API (wf/wf.h)
# and starts and resumes them through the workflows layer (wfdef.h): no file under cli/
# names the store's or the engine's internals, so that whatever the CLI can do, a program
# embedding wf can do too.
set -u
root=${1:?usage: cli_api.sh <source-dir>}
if grep -nE '\b(wfs|wfi|WFS|WFI)_|"(wfstore|wfengine|wfs_internal|sched_int|api_int)\.h"' \
  "$root"/cli/*.c "$root"/cli/*.h; then
  echo "FAIL [lint.cli_api]: cli/ uses the store or the engine's internals (above);" \
    "use wf/wf.h, or the workflows layer to start and resume runs" >&2
  exit 1
fi
