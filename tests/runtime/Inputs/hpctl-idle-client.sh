#!/usr/bin/env bash
# hpctl-idle-client.sh DIR: runs DIR/old/app (linked with the runtime), then opens a connection
# to its control socket that sends nothing (a hung or hostile client), and while it is open:
# (1) `hpctl --timeout 1 apply` (which must give up, saying the outcome is unknown), then
# (2) `hpctl --timeout 15 apply` (which must be served once the runtime drops the silent client),
# then `hpctl status`.  Then, with another silent client holding the runtime, (3) `hpctl apply`
# during which the process is stopped (SIGSTOP) and afterwards continued, and `hpctl status`
# again.  Prints each hpctl's output with the pid replaced by PID and "exit N".
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1
hpctl=${HPCTL:?}
source "$(dirname "$0")/start-app.sh"
start_app "$dir/old/app"
# Connects and stays silent for a minute; says "connected" once the connection is up.
silent() {
  python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print("connected", flush=True)
time.sleep(60)
' "$HOTPATCH_SOCKET_DIR/$pid.sock" > "$dir/idle.txt" &
  also_kill="$also_kill $!"  # start-app.sh kills them at exit
  wait_for eval 'grep -q connected "$dir/idle.txt" 2>/dev/null'
}
run() {
  "$hpctl" "$@" 2>&1 | sed "s/\b$pid\b/PID/g"
  echo "exit ${PIPESTATUS[0]}"
}
silent
run --timeout 1 apply "$pid" "$dir/fix.hp"
run --timeout 15 apply "$pid" "$dir/fix.hp"
run status "$pid" | awk '{print $1, $2, $3}'
echo "== stopped while hpctl waits"
rm -f "$dir/idle.txt"
silent
run --timeout 15 apply "$pid" "$dir/fix.hp" > "$dir/stopped.txt" &
waiting=$!
sleep 0.5
kill -STOP "$pid"
wait $waiting
cat "$dir/stopped.txt"
kill -CONT "$pid"
run status "$pid" | awk '{print $1, $2, $3}'
