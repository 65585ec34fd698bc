#!/usr/bin/env bash
# safe-switch-unseen.sh DIR: for the safe-switch-unseen test: runs DIR/old/app-stripped parked
# in value(), then DIR/old/app parked in code with no unwind information and in a dl_iterate_phdr
# callback, and shows hpctl apply --safe=1 and the status after each.  The pid and the worker's
# thread id are shown as PID and WORKER.
set -uo pipefail
source "$(dirname "$0")/../../tools/wait-for.sh"
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
pid=
trap 'kill $pid 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
run_dir=$dir/run
# start PROGRAM MODE: runs it, and waits until its worker is blocked reading the gate.
start() {
  [ -z "$pid" ] || { kill "$pid"; wait "$pid" 2>/dev/null; }
  rm -rf "$run_dir" && mkdir "$run_dir" && mkfifo "$run_dir/gate"
  "$1" "$run_dir" "$2" > /dev/null &
  pid=$!
  wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
  wait_for eval '[ "$(ls /proc/$pid/task | wc -l)" -ge 3 ]'
  worker=$(grep -l '^parked$' /proc/$pid/task/*/comm 2>/dev/null | sed -n 1p | cut -d/ -f5)
  wait_reading "$pid" "$worker" "$run_dir/gate"
}
show() { sed -e "s/\b$worker\b/WORKER/g" -e "s/\b$pid\b/PID/g"; }
run() { "$hpctl" "$@" 2>&1 | show; echo "exit ${PIPESTATUS[0]}"; }
echo "== stripped, parked in value()"
start "$dir/old/app-stripped" read
run apply --safe=1 "$pid" "$dir/fix.hp"
"$hpctl" status "$pid" 2>&1 | show | sed -n 1p
echo "== parked in code with no unwind information, called from value()"
start "$dir/old/app" asm
run apply --safe=1 "$pid" "$dir/fix.hp"
"$hpctl" status "$pid" 2>&1 | show | sed -n 1p
echo "== parked in a dl_iterate_phdr callback"
start "$dir/old/app" phdr
run apply --safe=1 "$pid" "$dir/fix.hp"
"$hpctl" status "$pid" 2>&1 | show | sed -n 1p
