#!/usr/bin/env bash
# live.sh DIR: runs DIR/old/app (which prints value() in a loop), then drives it with hpctl:
# apply DIR/fix.hp, status, revert, apply again, status --json.  Prints what the program
# printed, deduplicated, with the hpctl transcript interleaved, and checks the pid never changed.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -euo pipefail
dir=$1
hpctl=${HPCTL:?}
# A short directory: a socket path must fit in 108 bytes, wherever the tests run.  The runtime
# creates it (mode 0700); it is removed at the end.
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
: > "$dir/out.txt"
"$dir/old/app" >> "$dir/out.txt" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
mark() { sleep 0.2; echo "== $*" >> "$dir/out.txt"; }
mark start
"$hpctl" apply "$pid" "$dir/fix.hp" | sed "s/$pid/PID/" >> "$dir/out.txt"
mark applied
"$hpctl" status "$pid" | sed "s/$pid/PID/" | awk '{print $1, $2, $3}' >> "$dir/out.txt"
"$hpctl" revert "$pid" | sed "s/$pid/PID/" >> "$dir/out.txt"
mark reverted
"$hpctl" apply "$pid" "$dir/fix.hp" | sed "s/$pid/PID/" >> "$dir/out.txt"
mark applied again
"$hpctl" status "$pid" --json | sed "s/$pid/PID/" >> "$dir/out.txt"
kill -0 "$pid" && echo "same process: yes" >> "$dir/out.txt"
kill "$pid"
wait "$pid" 2>/dev/null || true
uniq "$dir/out.txt"
