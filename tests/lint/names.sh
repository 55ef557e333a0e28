#!/usr/bin/env bash
# names.sh <source-dir>: wf_ names only the public API. Every wf_ identifier in the C
# sources is one that wf/wf.h declares; the CLI's helpers are cli_, the libraries' internals
# wfs_ (store), wfm_ (msgpack), wfi_ (engine), wfa_ and tf_ (activities), wfw_ (workflows).
set -u
root=${1:?usage: names.sh <source-dir>}
public=$(grep -ohwE 'wf_[a-z0-9_]+' "$root"/engine/include/wf/wf.h | sort -u)
bad=$(cd "$root" && grep -rnowE --include='*.c' --include='*.h' 'wf_[a-z0-9_]+' \
        store engine activities workflows cli tests docs |
      awk -F: -v pub="$public" 'BEGIN { n = split(pub, p, "\n"); for (i = 1; i <= n; i++) ok[p[i]] = 1 }
                                !($3 in ok) { print }')
if [ -n "$bad" ]; then
  printf '%s\n' "$bad"
  echo "FAIL [lint.names]: wf_ names above are not in wf/wf.h; internal names take their" \
    "folder's prefix (cli_, wfs_, wfm_, wfi_, wfa_, tf_, wfw_)" >&2
  exit 1
fi
