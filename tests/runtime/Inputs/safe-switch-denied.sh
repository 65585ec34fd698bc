#!/usr/bin/env bash
# safe-switch-denied.sh DIR: runs DIR/old/app (linked with the runtime), has DIR/tracer trace it,
# then runs hpctl apply --safe, status, and the fast apply.  Prints hpctl's lines and exit
# statuses, the pid as PID.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
"$dir/old/app" &
pid=$!
tracer=
trap 'kill $tracer $pid 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
"$dir/tracer" "$pid" > "$dir/tracer.txt" &
tracer=$!
wait_for grep -q tracing "$dir/tracer.txt"
run() { { "$@" 2>&1 || echo "exit $?"; } | sed "s/\b$pid\b/PID/g"; }
echo "== --safe, traced by another"
run "$hpctl" apply --safe=1 "$pid" "$dir/fix.hp"
run "$hpctl" status "$pid" | sed -n 1p
echo "== fast"
run "$hpctl" apply "$pid" "$dir/fix.hp"
