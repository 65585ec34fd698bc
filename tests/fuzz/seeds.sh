#!/usr/bin/env bash
# seeds.sh SOURCE BUILD LLVM_TOOLS OUT: the fuzz targets' seed corpora, built from a few of the
# hpdiff suite's cases (split-file, then tests/hpdiff/Inputs/build-pair.sh, then hpdiff, as the
# suite runs them): OUT/package gets their packages, OUT/object their objects and programs,
# OUT/meta the .hotpatch sections of both.  Built afresh on every run; nothing is committed.
set -euo pipefail
src=$1 build=$2 tools=$3 out=$4
export HOTPATCH_PLUGIN=$build/lib/hotpatch.so
rm -rf "$out"
mkdir -p "$out/package" "$out/object" "$out/meta" "$out/work"
# Unwind records, a function pointer, a libc import, a jump table, a new global, a shared
# library, and state hooks with an acceptance (the state header; the case's "value" pair): each
# case brings different sections and relocations.
for c in h27-unwind-info h13-function-pointer h22-libc-function-import h14-jump-table h18-new-global \
         h21-thread-local-shared-library state-markers:value; do
  t=${c%%:*} pair=${c#"$t"}
  w=$out/work/$t
  "$tools/split-file" "$src/tests/hpdiff/$t.test" "$w"
  w=$w${pair/:/\/}
  bash "$src/tests/hpdiff/Inputs/build-pair.sh" "$w" -I"$src/runtime" >/dev/null 2>&1 || { echo "fuzz seeds: $c did not build" >&2; continue; }
  "$build/bin/hpdiff" "$w/old" "$w/new" -o "$out/package/$t.hp" >/dev/null 2>&1 || true
  for f in "$w"/new/*.o "$w"/new/app "$w"/new/*.so; do
    [ -f "$f" ] || continue
    name=$t-$(basename "$f")
    cp "$f" "$out/object/$name"
    "$tools/llvm-objcopy" --dump-section .hotpatch="$out/meta/$name.hotpatch" "$f" /dev/null 2>/dev/null || true
  done
done
rm -rf "$out/work"
for kind in package object meta; do
  n=$(ls "$out/$kind" | wc -l)
  echo "fuzz seeds: $n in $kind"
  [ "$n" -gt 0 ] || { echo "fuzz seeds: none for $kind" >&2; exit 1; }
done
