# common.sh — sourced by the benchmarks in this directory: strict mode, their messages, and where
# the repository and the build directory (the one optional argument) are.  Set `name` first.
set -euo pipefail
export LC_ALL=C

die() {
	printf '%s.sh: %s\n' "$name" "$*" >&2
	exit 1
}
note() { printf '[%s] %s\n' "$name" "$*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -le 1 ]] || die "usage: $name.sh [BUILD_DIR]"
build=${1:-$root/build}
[[ -d $build ]] || die "no build directory $build"
build=$(cd "$build" && pwd)

# JSON for the reports: a string, and a list of numbers.
json_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}
json_list() {
	local IFS=,
	printf '[%s]' "$*"
}
