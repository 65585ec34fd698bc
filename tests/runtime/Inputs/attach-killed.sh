#!/usr/bin/env bash
# attach-killed.sh DIR SIGNAL: runs DIR/old/app mask (state-app.c) and has hpctl load
# DIR/slow-runtime.so into it (HOTPATCH_RUNTIME), whose constructor takes 2 s; once the library
# is mapped (hpctl is inside the call), sends hpctl SIGNAL.  Prints how hpctl ended and whether
# the program is whole afterwards: SIGUSR1 makes it check its mask and SIGSEGV's action, and end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
dir=$1
sig=$2
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
: > "$dir/out.txt"
(cd "$dir/old" && exec ./app mask) >> "$dir/out.txt" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for grep -q ready "$dir/out.txt"
# A background command of a script starts with SIGINT and SIGQUIT ignored: put back as a user has them.
HOTPATCH_RUNTIME=$dir/slow-runtime.so env --default-signal=INT,QUIT "$hpctl" apply "$pid" "$dir/fix.hp" > "$dir/hpctl.txt" 2>&1 &
ctl=$!
wait_for grep -q slow-runtime "/proc/$pid/maps"
kill -"$sig" "$ctl"
status=0
wait "$ctl" || status=$?
echo "hpctl ended with status $status"
kill -USR1 "$pid" 2>/dev/null || echo "the program is gone"
wait_for grep -q done "$dir/out.txt" || true
cat "$dir/out.txt"
