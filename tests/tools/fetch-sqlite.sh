#!/usr/bin/env bash
# For tests and benchmarks: fetches the SQLite amalgamation that npm's better-sqlite3 ships into a cache.
# Prints the directory holding sqlite3.c.
#
# Usage: fetch-sqlite.sh VERSION     (a better-sqlite3 version: 11.5.0 ships SQLite 3.47.0, 11.6.0 ships 3.47.1)
# Cache: ${HOTPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotpatch}/sqlite/VERSION/ holding sqlite3.c,
# sqlite3.h and sqlite3ext.h.  Once it is there, nothing touches the network.  On failure, one line on
# stderr names what failed and the exit status is 1.
set -euo pipefail

die() {
	printf 'fetch-sqlite.sh: %s\n' "$*" >&2
	exit 1
}

[[ $# -eq 1 ]] || die "usage: fetch-sqlite.sh BETTER_SQLITE3_VERSION (e.g. 11.5.0)"
version=$1
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
	die "'$version' is not a better-sqlite3 version (expected e.g. 11.5.0)"

if [[ -n ${HOTPATCH_CACHE:-} ]]; then
	cache=$HOTPATCH_CACHE
elif [[ -n ${XDG_CACHE_HOME:-} ]]; then
	cache=$XDG_CACHE_HOME/hotpatch
elif [[ -n ${HOME:-} ]]; then
	cache=$HOME/.cache/hotpatch
else
	die "no cache directory: set HOTPATCH_CACHE, XDG_CACHE_HOME or HOME"
fi
dest=$cache/sqlite/$version
files=(sqlite3.c sqlite3.h sqlite3ext.h)

complete() {
	local f
	for f in "${files[@]}"; do
		[[ -s $1/$f ]] || return 1
	done
}

if complete "$dest"; then
	printf '%s\n' "$dest"
	exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm not found on PATH (needed to download better-sqlite3@$version)"
command -v tar >/dev/null 2>&1 || die "tar not found on PATH"
mkdir -p "$cache/sqlite" 2>/dev/null || die "cannot create cache directory $cache/sqlite"

# Everything happens in a scratch directory next to the destination, so the final mv is a rename
# on one file system and a reader never sees a half-written directory.
work=$(mktemp -d "$cache/sqlite/.fetch-$version.XXXXXX" 2>/dev/null) || die "cannot create a temporary directory in $cache/sqlite"
trap 'rm -rf "$work"' EXIT

if ! (cd "$work" && npm pack --loglevel=error "better-sqlite3@$version" >"$work/npm.out" 2>"$work/npm.err"); then
	# npm's first message line that says more than an error code, e.g. "notarget No matching version ...".
	reason=$(sed -nE '/^npm (ERR!|error) +(code|errno|syscall) /d; s/^npm (ERR!|error) +//p' "$work/npm.err" | head -n1)
	[[ -n $reason ]] || reason=$(grep -v '^npm warn' "$work/npm.err" | head -n1 || true)
	die "npm pack better-sqlite3@$version failed${reason:+: $reason}"
fi
tarball=$(find "$work" -maxdepth 1 -name 'better-sqlite3-*.tgz' -print -quit)
[[ -n $tarball ]] || die "npm pack better-sqlite3@$version produced no tarball"

mkdir "$work/x" 2>/dev/null || die "cannot create $work/x"
members=("${files[@]/#/package/deps/sqlite3/}")
tar -xzf "$tarball" -C "$work/x" "${members[@]}" 2>"$work/tar.err" ||
	die "cannot extract ${files[*]} from $(basename "$tarball") ($(head -n1 "$work/tar.err"))"
complete "$work/x/package/deps/sqlite3" ||
	die "$(basename "$tarball") lacks one of package/deps/sqlite3/{${files[*]}}"

mv "$work/x/package/deps/sqlite3" "$work/sqlite3" 2>/dev/null || die "cannot rename the extracted sources in $work"
# A leftover that is not a complete copy (fetches only ever rename complete ones into place).
if [[ -e $dest ]] && ! complete "$dest"; then
	rm -rf "$dest" || die "cannot remove the incomplete $dest"
fi
# Another fetch may have finished first; its copy is as good as ours.
if ! mv -T "$work/sqlite3" "$dest" 2>/dev/null; then
	complete "$dest" || die "cannot move the extracted sources to $dest"
fi
printf '%s\n' "$dest"
