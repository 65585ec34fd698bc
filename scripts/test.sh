#!/usr/bin/env bash
# The README's test command: installs missing Debian packages, configures, builds, and runs
# every lit suite through ctest (each suite prints lit's summary; ctest prints its own).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOTPATCH_BUILD:-$root/build}
"$root/scripts/deps.sh"
cmake -G Ninja -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
      -DHOTPATCH_WERROR=ON >/dev/null
ninja -C "$build"
cd "$build"
ctest --output-on-failure -V
