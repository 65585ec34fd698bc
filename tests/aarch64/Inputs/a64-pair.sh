#!/usr/bin/env bash
# a64-pair.sh ROOT [CFLAGS...]: builds the AArch64 pair ROOT/old, ROOT/new (split from a test)
# once per branch protection, as the hpdiff suite's build-pair.sh builds x86-64 pairs: into
# ROOT/none without, and into ROOT/standard with -mbranch-protection=standard (BTI landing pads,
# return addresses signed: every site then at +4); A64_PROTECTIONS (an environment variable)
# names other -mbranch-protection values to build, each into ROOT/<value>.  Each side gets apply-in-process.c and
# contract/reloc.c, so that its program can apply a package to itself under qemu (main calls
# hp_test_apply; twice.h).  CFLAGS go to every compile and link after the target's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
root=$1
shift
for bp in ${A64_PROTECTIONS:-none standard}; do
  rm -rf "$root/$bp"
  mkdir -p "$root/$bp"
  cp -r "$root/old" "$root/new" "$root/$bp/"
  for side in old new; do
    cp "$here/apply-in-process.c" "$src/contract/reloc.c" "$root/$bp/$side/"
  done
  bash "$src/tests/hpdiff/Inputs/build-pair.sh" "$root/$bp" --target=aarch64-linux-gnu -fuse-ld=lld \
    -Wno-unused-command-line-argument \
    -mbranch-protection=$bp -I"$here" -I"$src/contract" "$@"
done
