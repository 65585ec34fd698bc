#!/usr/bin/env bash
# package-bytes.sh: holds hpdiff's output to the bytes it wrote before a change, so that a
# refactor of the plugin or the differ cannot change a package unnoticed.  The manifest
# (package-bytes.txt beside this script) lists, per case, hpdiff's exit status and the SHA-256
# of the package it wrote ("-" when none), made by the tools of an earlier commit.
#
#   package-bytes.sh check WORKDIR          every hpdiff case of the manifest: split the test,
#                                           build its pair, run hpdiff, compare
#   package-bytes.sh check-one NAME FILE    one package made elsewhere (the SQLite pair)
#   package-bytes.sh update WORKDIR         rewrite the manifest's hpdiff cases from every
#                                           hpdiff test whose pair build-pair.sh builds plainly
#                                           (only when a change of the package is meant, or to
#                                           take in new tests: say so in the commit)
#
# The compiler's own output is part of every package (code, build-ids), so the manifest names
# the compiler it was made with; lit runs the check only under that compiler.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
manifest=$here/package-bytes.txt
mode=${1:?usage: package-bytes.sh check|update WORKDIR, or check-one NAME FILE}

sha_of() { if [[ -f $1 ]]; then sha256sum "$1" | cut -d' ' -f1; else echo -; fi; }

# The tests whose pair is built with build-pair.sh and no other flags.
plain_cases() {
  grep -l '^# RUN: rm -rf %t && split-file %s %t && %build-pair %t$' "$src"/tests/hpdiff/*.test |
    sed 's|.*/tests/||; s|\.test$||'
}

# One line per case named on stdin (hpdiff/NAME): NAME EXIT SHA256, hpdiff run with its defaults.
run_cases() {
  local work=$1 t name
  rm -rf "$work" && mkdir -p "$work"
  while read -r name; do
    t=$src/tests/$name.test
    [[ -f $t ]] || { echo "$name gone -"; continue; }
    local d=$work/$(basename "$t" .test)
    split-file "$t" "$d" </dev/null
    bash "$src/tests/hpdiff/Inputs/build-pair.sh" "$d" </dev/null >/dev/null 2>&1 || { echo "$name build-failed -"; continue; }
    local rc=0
    (cd "$d" && hpdiff old new -o fix.hp </dev/null >/dev/null 2>&1) || rc=$?
    echo "$name $rc $(sha_of "$d/fix.hp")"
  done
}

case $mode in
check)
  work=${2:?WORKDIR}
  grep '^hpdiff/' "$manifest" >"$work.was"
  cut -d' ' -f1 "$work.was" | run_cases "$work" >"$work.now"
  if ! diff -u "$work.was" "$work.now" >"$work.diff"; then
    echo "package-bytes: hpdiff's output differs from the manifest ($manifest):"
    grep '^[-+]hpdiff/' "$work.diff"
    exit 1
  fi
  echo "package-bytes: $(wc -l <"$work.now") cases, every package and exit status unchanged"
  ;;
check-one)
  name=${2:?NAME} file=${3:?FILE}
  want=$(awk -v n="$name" '$1 == n { print $3 }' "$manifest")
  [[ -n $want ]] || { echo "package-bytes: $name is not in $manifest"; exit 1; }
  got=$(sha_of "$file")
  [[ $got == "$want" ]] || { echo "package-bytes: $name: $file has SHA-256 $got, the manifest $want"; exit 1; }
  echo "package-bytes: $name unchanged"
  ;;
update)
  work=${2:?WORKDIR}
  {
    echo "# compiler: $(clang-19 --version | head -1)"
    plain_cases | run_cases "$work"
    grep -v '^#\|^hpdiff/' "$manifest" 2>/dev/null || true
  } >"$work.manifest"
  mv "$work.manifest" "$manifest"
  ;;
*) echo "package-bytes: unknown mode $mode" >&2; exit 2 ;;
esac
