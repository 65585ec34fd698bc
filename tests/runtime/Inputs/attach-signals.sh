#!/usr/bin/env bash
# attach-signals.sh DIR: runs DIR/old/app (signals-app.c, not linked with libhotpatch), sends it
# 3000 real-time signals from outside while hpctl loads the runtime, applies, reverts and
# applies again; then asks the program how many it received.  Prints hpctl's transcript (pid as
# PID), the count, and whether the new code ran.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
: > "$dir/out.txt"
rm -f "$dir/sending"
"$dir/old/app" >> "$dir/out.txt" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for grep -q ready "$dir/out.txt"
python3 -c '
import os, signal, sys, time
pid = int(sys.argv[1])
for i in range(3000):
    os.kill(pid, signal.SIGRTMIN)
    if i == 100:
        open(sys.argv[2], "w").close()
    if i % 10 == 0:
        time.sleep(0.001)
' "$pid" "$dir/sending" &
sender=$!
wait_for test -e "$dir/sending"  # hpctl starts while the signals come
run() { { "$hpctl" "$@" 2>&1 || echo "exit $?"; } | sed "s/\b$pid\b/PID/g"; }
run apply "$pid" "$dir/fix.hp"
run revert "$pid"
run apply "$pid" "$dir/fix.hp"
wait $sender
sleep 0.2
kill -USR2 $pid
wait_for grep -q received "$dir/out.txt"
grep received "$dir/out.txt" | sed 's/$/ of 3000/'
grep -q 'value 2' "$dir/out.txt" && echo "new code ran"
