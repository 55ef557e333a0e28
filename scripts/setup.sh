#!/usr/bin/env bash
# Install what wf needs on Debian 12, build it (Release) in ./build and install it, so that
# `wf` is on PATH. Safe to run again: packages already present are not touched and the
# build is incremental.
#
#   scripts/setup.sh                   packages, build, install (prefix $PREFIX or /usr/local)
#   scripts/setup.sh --deps-only       only the package check/install
#   scripts/setup.sh --deps-only --test-deps
#                                      also what the tests use (jq, clang for fuzzing, groff)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_PACKAGES=(build-essential cmake pkg-config liblmdb-dev lmdb-utils libmsgpack-dev
                libuv1-dev libcjson-dev zlib1g-dev libcurl4-openssl-dev libcmocka-dev
                ca-certificates)
# The integration and crash tests read `wf -o json` with jq; the fuzz targets need clang
# and its libFuzzer runtime; lint.api_docs formats the reference pages with groff.
TEST_PACKAGES=(jq clang libclang-rt-14-dev groff-base)

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# Install the given Debian packages that are not installed yet.
install_packages() {
  local missing=() pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    say "packages: all ${#} present"
    return 0
  fi
  if ((EUID != 0)); then
    printf 'setup: missing Debian packages: %s\n' "${missing[*]}" >&2
    printf 'setup: install them as root, then run this again:\n' >&2
    printf '  sudo apt-get update && sudo apt-get install -y --no-install-recommends %s\n' \
      "${missing[*]}" >&2
    exit 1
  fi
  say "packages: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z ${WF_SETUP_APT_UPDATED:-} ]]; then
    apt-get update -qq </dev/null
    export WF_SETUP_APT_UPDATED=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
  say "packages: installed ${#missing[@]}"
}

deps_only=0
test_deps=0
for arg in "$@"; do
  case $arg in
    --deps-only) deps_only=1 ;;
    --test-deps) test_deps=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done

packages=("${BUILD_PACKAGES[@]}")
((test_deps)) && packages+=("${TEST_PACKAGES[@]}")
install_packages "${packages[@]}"
((deps_only)) && exit 0

prefix=${PREFIX:-/usr/local}
jobs=$(nproc 2>/dev/null || echo 2)

say "configure: build/ (Release)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
say "build: -j$jobs"
cmake --build build -j"$jobs" >build/setup-build.log 2>&1 || {
  cat build/setup-build.log >&2
  die "build failed (log above)"
}

if ! mkdir -p "$prefix" 2>/dev/null || [[ ! -w $prefix ]]; then
  die "cannot write to $prefix; run as root, or choose another prefix:
  PREFIX=\$HOME/.local ./scripts/setup.sh   (and put \$HOME/.local/bin on PATH)"
fi
say "install: $prefix"
cmake --install build --prefix "$prefix" >/dev/null

if [[ $(command -v wf || true) != "$prefix/bin/wf" ]]; then
  say "note: $prefix/bin is not first on PATH for wf; add it: export PATH=\"$prefix/bin:\$PATH\""
fi
say "done: $("$prefix/bin/wf" --version 2>/dev/null || echo "$prefix/bin/wf")"
