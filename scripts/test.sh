#!/usr/bin/env bash
# The README's test command: installs missing Debian packages, configures, builds, and runs
# every lit suite through ctest (each suite prints lit's summary; ctest prints its own).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOTPATCH_BUILD:-$root/build}
"$root/scripts/deps.sh"
cmake -S "$root" --preset ci -B "$build" >/dev/null  # the configure line: CMakePresets.json
ninja -C "$build"
cd "$build"
ctest --output-on-failure -V
