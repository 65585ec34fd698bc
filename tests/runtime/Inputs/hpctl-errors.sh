#!/usr/bin/env bash
# hpctl-errors.sh DIR: starts DIR/app (linked with libhotpatch) and runs hpctl's failure cases
# against it, printing each one's output and exit status.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -u
dir=$1
# A short directory: a socket path must fit in 108 bytes, wherever the tests run.  The runtime
# creates it (mode 0700); it is removed at the end.
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
"$dir/app" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
run() { "$@" 2>&1; echo "exit $?"; }
run "$HPCTL" apply "$pid" "$dir/missing.hp"
printf 'not a package' > "$dir/junk.hp"
run "$HPCTL" apply "$pid" "$dir/junk.hp"
run "$HPCTL" revert "$pid" 7
run setpriv --reuid=65534 --regid=65534 --clear-groups "$HPCTL" status "$pid"
run "$HPCTL" status "$pid"
