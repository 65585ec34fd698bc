#!/usr/bin/env bash
# The README's test command: installs missing Debian packages, configures, builds, and runs
# every lit suite and the bounded fuzz runs through ctest (each suite prints lit's summary;
# ctest prints its own), then the suites again with the tools built with sanitizers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HOTPATCH_BUILD:-$root/build}
"$root/scripts/deps.sh"
cmake -S "$root" --preset ci -B "$build" >/dev/null  # the configure line: CMakePresets.json
ninja -C "$build"
(cd "$build" && ctest --output-on-failure -V)
# The suite again with the tools built with AddressSanitizer and UndefinedBehaviorSanitizer
# (HOTPATCH_SANITIZE; docs/fuzzing.md), in a build directory of its own.  The fuzz tests, built
# with both sanitizers in either build, run once, above.  HOTPATCH_SANITIZE_SUITE=0 skips this.
if [ "${HOTPATCH_SANITIZE_SUITE:-1}" != 0 ]; then
  sanitized=${HOTPATCH_SANITIZE_BUILD:-$build-sanitize}
  cmake -S "$root" --preset ci -B "$sanitized" -DHOTPATCH_SANITIZE=address,undefined >/dev/null
  ninja -C "$sanitized"
  (cd "$sanitized" && ctest --output-on-failure -V -LE fuzz)
fi
