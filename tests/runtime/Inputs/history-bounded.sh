#!/usr/bin/env bash
# history-bounded.sh DIR CLIENT: runs DIR/old/app DIR/fix.hp (which applies and reverts it 70
# times, then says "ready"), and prints its status reply (CLIENT: control-request.py).
source "$(dirname "$0")/../../tools/wait-for.sh"
set -euo pipefail
dir=$1 client=$2
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
"$dir/old/app" "$dir/fix.hp" > "$dir/run.txt" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for eval 'grep -q ready "$dir/run.txt"'
python3 "$client" "$pid" status
