#!/usr/bin/env bash
# trust-status.sh DIR: for the trust-status test: starts DIR/plain/old/app (no policy),
# DIR/keyed/old/app (built trusting DIR/k.pub) and DIR/filed/old/app (reading the policy file
# DIR/etc/app.trust when it starts), each in a loop, and prints what hpctl status says of each
# policy, with applies of unsigned and signed packages; then changes the policy file under the
# running process, and starts one with no policy file at all.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -u
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
pids=()
trap 'kill ${pids[*]} 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
start() {
  "$1" > /dev/null &
  pid=$!
  pids+=("$pid")
  wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
}
run() { { echo "\$ ${*:2}"; "$@" 2>&1; echo "exit $?"; } | sed "s/$pid/PID/g"; }
echo "== plain"
start "$dir/plain/old/app"
run "$hpctl" status "$pid"
echo "== keyed"
start "$dir/keyed/old/app"
run "$hpctl" status "$pid"
run "$hpctl" apply "$pid" "$dir/keyed-unsigned.hp"
run "$hpctl" apply "$pid" "$dir/keyed-signed.hp"
echo "== filed"
cp "$dir/k.pub" "$dir/etc/app.trust"
start "$dir/filed/old/app"
# The policy is the one the process started with: the file changed since changes nothing.
cp "$dir/other.pub" "$dir/etc/app.trust"
run "$hpctl" status "$pid"
run "$hpctl" apply "$pid" "$dir/filed-other.hp"
run "$hpctl" apply "$pid" "$dir/filed-signed.hp"
echo "== no policy file"
rm "$dir/etc/app.trust"
start "$dir/filed/old/app"
run "$hpctl" status "$pid"
run "$hpctl" apply "$pid" "$dir/filed-signed.hp"
