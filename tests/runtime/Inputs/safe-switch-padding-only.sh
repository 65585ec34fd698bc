#!/usr/bin/env bash
# safe-switch-padding-only.sh DIR: runs DIR/old/app (padding-only entries), sends the package
# with a plain "apply" request straight to its socket (as an older hpctl would), then with a
# "stopped apply" whose "ready" is never answered "go", then uses hpctl apply and revert,
# printing the program's value after each; the pid shown as PID.
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
python3 "$(dirname "$0")/control-request.py" "$pid" apply "$dir/fix.hp" | tail -n 1
value
echo "== stopped apply, never confirmed"
python3 "$(dirname "$0")/control-request.py" "$pid" "stopped apply" "$dir/fix.hp"
value
echo "== hpctl apply"
run apply "$pid" "$dir/fix.hp"
value
echo "== hpctl revert"
run revert "$pid"
value
