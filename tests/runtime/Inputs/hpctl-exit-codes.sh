#!/usr/bin/env bash
# hpctl-exit-codes.sh DIR: one case per exit status hpctl can give with the real runtime, each
# named, its output and "exit N" after it; DIR/old/app runs as PID, DIR/new/app (another build of
# the same program) as PID2.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1
hpctl=${HPCTL:?}
source "$(dirname "$0")/start-app.sh"
start_app "$dir/old/app"
"$dir/new/app" > /dev/null &
pid2=$!
sleep 30 &
plain=$!
also_kill="$pid2 $plain"
wait_socket "$HOTPATCH_SOCKET_DIR/$pid2.sock"
as() {
  "$@" 2>&1 | sed "s/\b$pid\b/PID/g; s/\b$pid2\b/PID2/g"
  echo "exit ${PIPESTATUS[0]}"
}
run() { as "$hpctl" "$@"; }
echo "== usage"; run frobnicate 2>&1 | tail -n 1
echo "== package file missing"; run apply "$pid" "$dir/missing.hp"
echo "== applied"; run apply "$pid" "$dir/fix.hp"
printf 'not a package' > "$dir/junk.hp"
echo "== refused: not a package"; run apply "$pid" "$dir/junk.hp"
echo "== refused: no such patch"; run revert "$pid" 7
echo "== not this build"; run apply "$pid2" "$dir/fix.hp"
echo "== no runtime"; run status "$plain"
echo "== no process"; run status 2147483646
kill -STOP "$pid"
wait_for eval 'grep -q '\''^State:.T'\'' "/proc/$pid/status"'
echo "== stopped"; run status "$pid"
kill -CONT "$pid"
echo "== another user"; as setpriv --reuid=65534 --regid=65534 --clear-groups "$hpctl" status "$pid"
