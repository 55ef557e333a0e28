#!/bin/sh
# emit.sh — step bodies printing values wf must refuse or keep whole (t_fidelity.sh).
#
#   emit.sh LOG NAME KIND [ARGS]   append NAME to LOG, then print the value of KIND:
#     items KIND2 [N D]  a list of objects {"id": ...} for a fan-out: dup (a, b, a), nl
#                        ("b<newline>c" second), nul (two ids differing after a \u0000),
#                        many (N items, ids k0..k(D-1) in turn), unique (N distinct ids)
#     nul               {"k":"ab\u0000cd"}
#     utf8              {"k":"ab<0xff>cd"}: not UTF-8
#     text              {"k":"café ☕ 𝄞"}: UTF-8 beyond ASCII, to keep byte for byte
#     deep N            N nested arrays around 1
#     junk              stdout that is not JSON nor UTF-8; stderr that is not UTF-8
#     gate FILE         fail (exit 3) unless FILE exists; else {"ok":true}
set -eu
log=$1 name=$2 kind=$3
shift 3
cat >/dev/null
echo "$name" >>"$log"
case $kind in
  items)
    case $1 in
      dup) printf '[{"id":"a","v":1},{"id":"b","v":2},{"id":"a","v":3}]\n' ;;
      nl) printf '[{"id":"a"},{"id":"b\\nc"},{"id":"d"},{"id":"e"}]\n' ;;
      nul) printf '[{"id":"a\\u0000x"},{"id":"a\\u0000y"}]\n' ;;
      many) awk -v n="$2" -v d="$3" 'BEGIN { printf "["; for (i = 0; i < n; i++) printf "%s{\"id\":\"k%d\"}", (i ? "," : ""), i % d; print "]" }' ;;
      unique) awk -v n="$2" 'BEGIN { printf "["; for (i = 0; i < n; i++) printf "%s{\"id\":\"k%d\"}", (i ? "," : ""), i; print "]" }' ;;
    esac
    ;;
  nul) printf '{"k":"ab\\u0000cd"}\n' ;;
  utf8) printf '{"k":"ab\377cd"}\n' ;;
  text) printf '{"k":"caf\303\251 \342\230\225 \360\235\204\236"}\n' ;;
  deep) awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "["; printf "1"; for (i = 0; i < n; i++) printf "]"; print "" }' ;;
  junk)
    printf 'bad \377\376 bytes\n' >&2
    printf 'oops \377\376 not json\n'
    ;;
  gate)
    [ -e "$1" ] || { echo "gate: $1 does not exist yet" >&2; exit 3; }
    printf '{"ok":true}\n'
    ;;
  *) echo "emit.sh: unknown kind $kind" >&2; exit 2 ;;
esac
