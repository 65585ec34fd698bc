#!/usr/bin/env bash
# channel-stale-sockets.sh DIR: in a fresh socket directory, leaves the socket of a process
# that exited (DEAD), one of a process still listening (LIVE) and a regular file named like a
# socket of a dead pid (NOTSOCK); lists the directory, starts DIR/app (APP) and lists it again
# once APP's socket is there.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -u
dir=$1
sock=$(mktemp -d /tmp/hpsock.XXXXXX)
dead=$(python3 "$dir/listen.py" "$sock" exit)
python3 "$dir/listen.py" "$sock" stay > "$dir/live.txt" &
live=$!
notsock=$(sh -c 'echo $$')  # a pid that has exited
touch "$sock/$notsock.sock"
trap 'kill $live $app 2>/dev/null; rm -rf "$sock"' EXIT
wait_socket "$sock/$live.sock"
names() { sed -e "s/\b$dead\b/DEAD/g" -e "s/\b$live\b/LIVE/g" -e "s/\b$notsock\b/NOTSOCK/g" -e "s/\b${app:-APP}\b/APP/g"; }
echo "before: $(ls "$sock" | names | sort | tr '\n' ' ')"
HOTPATCH_SOCKET_DIR=$sock "$dir/app" &
app=$!
wait_socket "$sock/$app.sock"
echo "after: $(ls "$sock" | names | sort | tr '\n' ' ')"
