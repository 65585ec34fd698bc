#!/usr/bin/env bash
# attach-concurrent.sh DIR: runs DIR/old/app mask (state-app.c); a first hpctl loads
# DIR/slow-runtime.so into it (its constructor takes 2 s); while it is inside that call, a second
# hpctl apply is run.  Prints the second one's transcript and exit status, the pids as PID and
# FIRST, then waits for the first to end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
: > "$dir/out.txt"
(cd "$dir/old" && exec ./app mask) >> "$dir/out.txt" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for grep -q ready "$dir/out.txt"
HOTPATCH_RUNTIME=$dir/slow-runtime.so "$hpctl" apply "$pid" "$dir/fix.hp" > "$dir/first.txt" 2>&1 &
first=$!
wait_for grep -q slow-runtime "/proc/$pid/maps"
{ "$hpctl" apply "$pid" "$dir/fix.hp" 2>&1 || echo "exit $?"; } | sed "s/\b$pid\b/PID/g; s/\b$first\b/FIRST/g"
wait "$first" || true
