#!/usr/bin/env bash
# attach-busy.sh DIR: runs DIR/old/app (churn-app.c), has hpctl apply DIR/fix.hp --timeout 2,
# and prints hpctl's transcript and exit status, whether the runtime got mapped, and the
# program's output after a SIGUSR1 (it answers "alive 1" while its threads still run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
: > "$dir/out.txt"
(cd "$dir/old" && exec ./app) >> "$dir/out.txt" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for grep -q ready "$dir/out.txt"
{ "$hpctl" apply --timeout 2 "$pid" "$dir/fix.hp" 2>&1 || echo "exit $?"; } | sed "s/\b$pid\b/PID/g"
echo "runtime mapped: $(grep -c libhotpatch "/proc/$pid/maps" || true)"
kill -USR1 "$pid"
wait_for grep -q alive "$dir/out.txt"
cat "$dir/out.txt"
