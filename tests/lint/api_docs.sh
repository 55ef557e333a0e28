#!/usr/bin/env bash
# api_docs.sh <source-dir> <cc> <include-dir...>: the reference pages of docs/api/ (man 3)
# keep up with wf/wf.h, so that they cannot drift from it unnoticed:
#  - every function wf.h declares is named by the NAME section of one page, whose file is
#    docs/api/<its first name>.3, and the index wf.3 lists every page;
#  - the errors a page lists (".B WF_E..." under ERRORS) are exactly those wf.h's comments
#    give ("Errors: ...") for the functions of the page;
#  - every declaration and macro of a page's SYNOPSIS is as wf.h has it (comments and
#    spacing aside);
#  - every page's EXAMPLE compiles (<cc> -fsyntax-only, warnings as errors, against the
#    include dirs given: the source tree's and the generated wf/version.h's);
#  - every page another refers to (.BR wf_...(3)) exists;
#  - groff, when it is installed, formats every page without a warning;
#  - README.md links the index.
set -u
root=${1:?usage: api_docs.sh <source-dir> <cc> <include-dir...>}
cc=${2:?usage: api_docs.sh <source-dir> <cc> <include-dir...>}
shift 2
incs=()
for d in "$@"; do incs+=("-I$d"); done
header=$root/engine/include/wf/wf.h
api=$root/docs/api
failed=0
fail() {
  echo "FAIL [lint.api_docs]: $*" >&2
  failed=1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# wf.h without comments and preprocessor lines, one space between tokens (what a
# SYNOPSIS is compared with), and one line per function it declares: name, then the
# WF_E* codes after "Errors:" in the last comment on lines of its own before it (none
# for a function that does not return int).
awk '
  { text = text $0 "\n" }
  function norm(s) {
    gsub(/[ \t\n]+/, " ", s); gsub(/\( /, "(", s); gsub(/ \)/, ")", s); gsub(/ ;/, ";", s)
    gsub(/ ,/, ",", s); sub(/^ /, "", s); sub(/ $/, "", s); return s
  }
  function errors_of(doc,   out, rest) {
    out = ""
    if (!index(doc, "Errors:")) return out
    rest = substr(doc, index(doc, "Errors:"))
    while (match(rest, /WF_E[A-Z]+/)) {
      out = out " " substr(rest, RSTART, RLENGTH)
      rest = substr(rest, RSTART + RLENGTH)
    }
    return out
  }
  END {
    n = length(text); i = 1; depth = 0; stmt = ""; doc = ""; code = ""; bol = 1
    while (i <= n) {
      c = substr(text, i, 1)
      if (substr(text, i, 2) == "/*") {
        e = index(substr(text, i + 2), "*/")
        body = substr(text, i + 2, e - 1)
        if (bol) doc = body
        i += e + 3; stmt = stmt " "; continue
      }
      if (bol && c == "#") {              # a preprocessor line, with its continuations
        while (i <= n && !(substr(text, i, 1) == "\n" && substr(text, i - 1, 1) != "\\")) i++
        continue
      }
      if (c == "\n") bol = 1
      else if (c != " " && c != "\t") bol = 0
      if (c == "{") {
        if (stmt ~ /extern "C" *$/) { stmt = ""; i++; continue }
        depth++
      }
      if (c == "}") { if (depth == 0) { i++; continue }; depth-- }
      stmt = stmt c
      if (c == ";" && depth == 0) {
        s = norm(stmt)
        code = code " " s
        if (s !~ /^(typedef|enum|struct)/ && s ~ /wf_[a-z_0-9]+\(/) {
          match(s, /wf_[a-z_0-9]+\(/)
          name = substr(s, RSTART, RLENGTH - 1)
          print "fn " name (s ~ /^int / ? errors_of(doc) : "")
        }
        stmt = ""
      }
      i++
    }
    print "code " norm(code)
  }
' "$header" >"$tmp/header"
grep '^fn ' "$tmp/header" | cut -d' ' -f2- >"$tmp/functions"
grep '^code ' "$tmp/header" | cut -d' ' -f2- >"$tmp/code"
# Its one-line macros, comments and spacing aside.
sed -n 's|/\*.*||; s/[[:space:]]\{1,\}/ /g; s/ $//; /^#define [A-Z_]* [^\\]*$/p' "$header" >"$tmp/defines"
[[ -s $tmp/functions ]] || fail "no function found in $header (is the parser broken?)"

# sorted unique words of stdin, on one line
words() { tr ' ' '\n' | grep . | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# A section of a page (.SH NAME up to the next .SH), its requests and escapes kept.
section() { awk -v want="$2" '/^\.SH/ { on = ($0 == ".SH " want); next } on' "$1"; }
# Code of a section: its lines between .nf and .fi that are not requests, escapes undone.
code_of() {
  section "$1" "$2" | awk '/^\.nf/ { on = 1; next } /^\.fi/ { on = 0; next } on && !/^\./' |
    sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/\\(aq/'"'"'/g' -e 's/\\&//g' -e 's/\\e/\\/g'
}

# The EXAMPLE of a page compiles, and groff formats the page without a warning.
check_page() {
  local page=$1 base=$2 out
  code_of "$page" EXAMPLE >"$tmp/$base.c"
  if ! grep -q '[a-z]' "$tmp/$base.c"; then
    fail "$base.3 has no EXAMPLE"
  elif ! "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fsyntax-only \
    "${incs[@]}" "$tmp/$base.c" 2>"$tmp/cc.log"; then
    fail "the EXAMPLE of $base.3 does not compile:"
    cat "$tmp/cc.log" >&2
  fi
  if command -v groff >/dev/null; then
    out=$(groff -man -ww -z "$page" 2>&1)
    [[ -z $out ]] || fail "groff warns about $base.3: $out"
  fi
  local ref
  for ref in $(sed -n 's/^\.BR \(wf[a-z_]*\) (3).*/\1/p' "$page"); do
    [[ -f $api/$ref.3 ]] || fail "$base.3 refers to $ref(3), which has no page: name the page it is on"
  done
}

[[ -f $api/wf.3 ]] || fail "there is no index docs/api/wf.3"
named=" "
for page in "$api"/*.3; do
  [[ -e $page ]] || continue
  base=$(basename "$page" .3)
  check_page "$page" "$base"
  [[ $base == wf ]] && continue
  names=$(section "$page" NAME | head -1 | sed 's/ *\\-.*//; s/,/ /g')
  [[ -n $names ]] || { fail "$base.3 has no NAME line"; continue; }
  first=${names%% *}
  [[ $first == "$base" ]] || fail "$base.3 names $first first: call the file $first.3"
  want=""
  for fn in $names; do
    line=$(grep -E "^$fn( |$)" "$tmp/functions")
    if [[ -z $line ]]; then
      fail "$base.3 names $fn, which wf.h does not declare"
      continue
    fi
    [[ $named == *" $fn "* ]] && fail "$fn is named by two pages ($base.3 and another)"
    named="$named$fn "
    want="$want ${line#"$fn"}"
  done
  want=$(words <<<"$want")
  have=$(section "$page" ERRORS | sed -n 's/^\.B \(WF_E[A-Z]*\).*/\1/p' | words)
  [[ $have == "$want" ]] ||
    fail "$base.3 lists the errors [$have] where wf.h gives [$want] for $names:" \
      "make the page's ERRORS (.B WF_E... lines) and wf.h's comments agree"
  # Every declaration of the SYNOPSIS, as wf.h has it.
  code_of "$page" SYNOPSIS | grep -v '^#' | tr '\n' ' ' |
    awk '{ d = 0; s = ""; for (i = 1; i <= length($0); i++) { c = substr($0, i, 1); s = s c
           if (c == "{") d++; if (c == "}") d--
           if (c == ";" && d == 0) { print s; s = "" } } }' >"$tmp/synopsis"
  while IFS= read -r decl; do
    norm=$(sed -e 's/[[:space:]]\{1,\}/ /g' -e 's/( /(/g; s/ )/)/g; s/ ;/;/g; s/ ,/,/g' \
      -e 's/^ //; s/ $//' <<<"$decl")
    grep -qF -- "$norm" "$tmp/code" ||
      fail "$base.3: the SYNOPSIS declares \"$norm\", which is not in wf.h as written"
  done <"$tmp/synopsis"
  while IFS= read -r def; do
    grep -qxF -- "$def" "$tmp/defines" ||
      fail "$base.3: the SYNOPSIS has \"$def\", which is not in wf.h as written"
  done < <(code_of "$page" SYNOPSIS | grep '^#define' | sed 's/[[:space:]]\{1,\}/ /g; s/ $//')
  for fn in $names; do
    grep -qE "[ *]$fn\(" "$tmp/synopsis" || fail "$base.3 names $fn but its SYNOPSIS does not declare it"
  done
  section "$api/wf.3" FUNCTIONS 2>/dev/null | grep -qx "\.BR $base (3)" ||
    fail "the index wf.3 does not list $base(3) under FUNCTIONS"
done

while read -r fn _; do
  [[ $named == *" $fn "* ]] ||
    fail "wf.h declares $fn, but no page of docs/api/ names it: write docs/api/$fn.3" \
      "(or name it in the page of the functions it goes with) and list it in wf.3"
done <"$tmp/functions"
grep -q '(docs/api/wf\.3)' "$root/README.md" || fail "README.md does not link docs/api/wf.3"
exit "$failed"
