#!/usr/bin/env bash
# safe-switch-padding-only.sh DIR: runs DIR/old/app (padding-only entries), sends the package
# with a plain "apply" request straight to its socket (as an older hpctl would), then uses hpctl
# apply and revert, printing the program's value after each; the pid shown as PID.
set -uo pipefail
source "$(dirname "$0")/../../tools/wait-for.sh"
source "$(dirname "$0")/start-app.sh"
dir=$1
start_app "$dir/old/app" "$dir/value.txt"
wait_for test -s "$dir/value.txt"
# The program truncates and rewrites the file: read it until it holds a line.
value() {
  local v=
  sleep 0.1
  for _ in $(seq 200); do v=$(cat "$dir/value.txt"); [ -n "$v" ] && break; sleep 0.02; done
  echo "$v"
}
run() { "$HPCTL" "$@" 2>&1 | sed "s/\b$pid\b/PID/g"; echo "exit ${PIPESTATUS[0]}"; }
echo "== plain request"
python3 - "$HOTPATCH_SOCKET_DIR/$pid.sock" "$dir/fix.hp" <<'PY'
import array, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
with open(sys.argv[2], 'rb') as f:
    s.sendmsg([b"apply\n"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [f.fileno()]))])
    reply = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
print(reply.decode().strip().splitlines()[-1])
PY
value
echo "== hpctl apply"
run apply "$pid" "$dir/fix.hp"
value
echo "== hpctl revert"
run revert "$pid"
value
