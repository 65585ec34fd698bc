#!/usr/bin/env bash
# hpctl-out-of-range-ids.sh DIR: runs DIR/old/app, applies DIR/fix.hp (patch 1), then tries to
# revert patch 4294967297 (and -1) with hpctl and by writing "revert 4294967297" (and "revert 1x")
# to the socket directly, prints how many patches are still live, then hpctl with a process id
# and timeouts out of range or not decimal.  Pid shown as PID; "exit N" after each hpctl.
set -uo pipefail
dir=$1
hpctl=${HPCTL:?}
source "$(dirname "$0")/start-app.sh"
start_app "$dir/old/app"
run() {
  "$hpctl" "$@" 2>&1 | sed "s/\b$pid\b/PID/g"
  echo "exit ${PIPESTATUS[0]}"
}
raw() {
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().read(), end="")
' "$HOTPATCH_SOCKET_DIR/$pid.sock" "$1"
}
run apply "$pid" "$dir/fix.hp" | sed -n 1p
echo "== hpctl revert PID 4294967297"
run revert "$pid" 4294967297
echo "== hpctl revert PID -1"
run revert "$pid" -1
echo "== runtime: revert 4294967297"
raw "revert 4294967297"
echo "== runtime: revert 1x"
raw "revert 1x"
echo "== status"
echo "$("$hpctl" status "$pid" | sed '/^history/,$d' | grep -c '^  [0-9]') live"  # rows of the live-patch table, not of the history
echo "== hpctl status 4294967297"
run status 4294967297
echo "== hpctl --timeout 1e1"
run --timeout 1e1 status "$pid"
echo "== hpctl --timeout 0.5"
run --timeout 0.5 status "$pid" | sed -n '1p;$p'
