#!/usr/bin/env bash
# The README's demo command: builds hotpatch, compiles a small program with the plugin, and
# shows what the plugin leaves in it (a patchable prologue on every function, a fingerprint that
# changes exactly when the machine code does), then turns a fix into a hotpatch package.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOTPATCH_BUILD:-$root/build}
"$root/scripts/deps.sh"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Building hotpatch (plugin, hpdump, hpdiff)"
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 >/dev/null
ninja -C "$build" >/dev/null
plugin=$build/lib/hotpatch.so
hpdump=$build/bin/hpdump
hpdiff=$build/bin/hpdiff
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/v1" "$work/v2"
cp "$root/demo/counter.c" "$work/v1/counter.c"
# v2 fixes the off-by-one in the one function that has it.
sed 's/i <= n/i < n/' "$root/demo/counter.c" > "$work/v2/counter.c"

say "Compiling v1 with -fplugin=hotpatch (-O2, control-flow protection on)"
(cd "$work/v1" && clang-19 -O2 -fcf-protection=full -fplugin="$plugin" -c counter.c &&
 clang-19 -Wl,--build-id counter.o -o counter)
"$work/v1/counter"

say "Every function is patchable: 8 bytes of padding, then the 2-byte site (after endbr64)"
"$hpdump" --prologues "$work/v1/counter"
echo
llvm-objdump-19 -d --no-show-raw-insn "$work/v1/counter" | grep -B9 -A3 '<sum_first>:' | sed 's/^/    /'

say "v2 changes one line; the fingerprints say exactly which function's code changed"
(cd "$work/v2" && clang-19 -O2 -fcf-protection=full -fplugin="$plugin" -c counter.c &&
 clang-19 -Wl,--build-id counter.o -o counter)
"$work/v2/counter"
python3 "$root/tests/tools/fpcmp.py" --hpdump "$hpdump" "$work/v1/counter" "$work/v2/counter" | sed 's/^/    /'
echo "    (main changed too: the compiler inlined sum_first into it, so its machine code has the fix)"
say "hpdiff compares the two builds and writes the package a running v1 can take"
"$hpdiff" --explain "$work/v1" "$work/v2" -o "$work/fix.hp" | sed 's/^/    /'
echo
"$hpdump" "$work/fix.hp" | sed 's/^/    /'
say "Done: next, hpctl applies fix.hp to a running v1 (the runtime is being built)"
