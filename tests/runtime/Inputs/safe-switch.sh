#!/usr/bin/env bash
# safe-switch.sh DIR: for the safe-switch test: runs DIR/old/app, whose worker thread enters
# value() when DIR/run/enter is written to and parks there until DIR/run/gate is; shows hpctl
# apply --safe and revert --safe held back while the thread is inside the code they take out of
# use and succeeding once it has left; then, in a fresh process, the fast apply with the thread
# inside.  Pids and the worker's thread id are shown as PID and WORKER.
set -uo pipefail
source "$(dirname "$0")/../../tools/wait-for.sh"
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
pid=
trap 'kill $pid 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
run_dir=$dir/run  # what the program writes, and its FIFOs
start() {
  rm -rf "$run_dir" && mkdir "$run_dir" && mkfifo "$run_dir/gate" "$run_dir/enter"
  "$dir/old/app" "$run_dir" > /dev/null &
  pid=$!
  wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
  wait_for test -s "$run_dir/worker.tid"
  worker=$(cut -d' ' -f2 "$run_dir/worker.tid")
}
# The worker calls value(1) and blocks there, in its read of the gate (one byte per write: the
# worker reads one at a time).
park() {
  printf x > "$run_dir/enter"
  wait_reading "$pid" "$worker" "$run_dir/gate"
}
leave() {
  rm -f "$run_dir/worker.txt"
  printf x > "$run_dir/gate"
  wait_for test -s "$run_dir/worker.txt"
  cat "$run_dir/worker.txt"
}
show() { sed -e "s/\b$worker\b/WORKER/g" -e "s/\b$pid\b/PID/g"; }
run() { "$hpctl" "$@" 2>&1 | show; echo "exit ${PIPESTATUS[0]}"; }
value() { sleep 0.2; cat "$run_dir/value.txt"; }
echo "== safe apply, a thread inside value()"
start
park
run apply --safe=1 "$pid" "$dir/fix.hp"
"$hpctl" status "$pid" 2>&1 | show | sed -n 1p
value
echo "== safe apply, the thread has left value()"
leave
run apply --safe "$pid" "$dir/fix.hp"
value
echo "== safe revert, the thread inside the patch's value()"
park
run revert --safe=1 "$pid"
value
echo "== safe revert, the thread has left it"
leave
run revert --safe "$pid"
value
kill $pid; wait $pid 2>/dev/null
echo "== fast apply, a thread inside value()"
start
park
run apply "$pid" "$dir/fix.hp"
value
leave
echo "== usage"
run apply --safe=soon "$pid" "$dir/fix.hp"
