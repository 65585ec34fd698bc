#!/usr/bin/env bash
# attach-probe.sh DIR [ARGS...]: runs DIR/old/app ARGS (built with the plugin, not linked with
# libhotpatch) until it prints "ready", has hpctl apply DIR/fix.hp (which loads the runtime into
# it), then sends it SIGUSR1 and waits for it to print "done".  Prints hpctl's transcript and the
# program's output, the pid as PID.  The program is killed at exit whatever it blocks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
dir=$1
shift
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
: > "$dir/out.txt"
(cd "$dir/old" && exec ./app "$@") >> "$dir/out.txt" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for grep -q ready "$dir/out.txt"
{ "$hpctl" apply "$pid" "$dir/fix.hp" 2>&1 || echo "exit $?"; } | sed "s/\b$pid\b/PID/g"
kill -USR1 "$pid"
wait_for grep -q done "$dir/out.txt" || true
cat "$dir/out.txt"
