#!/usr/bin/env bash
# persist-restart.sh DIR INPUTS: with HOTPATCH_PERSIST_DIR set by the caller, runs DIR/old/app as
# a service: patched live with DIR/fix1.hp, killed, the package stored (persist-store.py),
# restarted; then with DIR/fix2.hp stored too, restarted again; then DIR/new/app (another
# build).  Prints each run's first line of output, and its status (the control channel, read
# with control-request.py).
source "$(dirname "$0")/../../tools/wait-for.sh"
set -euo pipefail
dir=$1 inputs=$2
client=$inputs/control-request.py
run() {  # the service: started, waited for, its first output line printed
  : > "$dir/run.txt"
  "$@" > "$dir/run.txt" &
  pid=$!
  wait_for eval '[ -S "$HOTPATCH_SOCKET_DIR/$pid.sock" ] && [ -s "$dir/run.txt" ]'
  head -n 1 "$dir/run.txt"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
pid=
trap '[ -z "$pid" ] || kill $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
echo "== first run, baseline"; run "$dir/old/app"
python3 "$client" "$pid" apply "$dir/fix1.hp" > /dev/null
sleep 0.1
echo "== patched live"; tail -n 1 "$dir/run.txt"
stop
echo "== stored"; python3 "$inputs/persist-store.py" "$HOTPATCH_PERSIST_DIR" "$dir/fix1.hp"
echo "== restarted: its first line"; run "$dir/old/app"
echo "== status"; python3 "$client" "$pid" status
echo "pid $pid"
stop
python3 "$inputs/persist-store.py" "$HOTPATCH_PERSIST_DIR" "$dir/fix2.hp" > /dev/null
echo "== two stored, restarted: its first line"; run "$dir/old/app"
echo "== status"; python3 "$client" "$pid" status
stop
echo "== new baseline"; run "$dir/new/app"
python3 "$client" "$pid" status
stop
