#!/usr/bin/env bash
# hpctl-errors.sh DIR: starts DIR/app (linked with libhotpatch) and runs hpctl's failure cases
# against it, printing each one's output and exit status.
set -u
dir=$1
export HOTPATCH_SOCKET_DIR=$dir/sockets
"$dir/app" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 100); do [ -S "$HOTPATCH_SOCKET_DIR/$pid.sock" ] && break; sleep 0.05; done
run() { "$@" 2>&1; echo "exit $?"; }
run "$HPCTL" apply "$pid" "$dir/missing.hp"
printf 'not a package' > "$dir/junk.hp"
run "$HPCTL" apply "$pid" "$dir/junk.hp"
run "$HPCTL" revert "$pid" 7
run setpriv --reuid=65534 --regid=65534 --clear-groups "$HPCTL" status "$pid"
run "$HPCTL" status "$pid"
