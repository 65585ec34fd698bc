#!/usr/bin/env bash
# channel-stale-sockets.sh DIR: in a fresh socket directory, leaves the socket of a process
# that exited (DEAD), one of a process still listening (LIVE) and a regular file named like a
# socket of a dead pid (NOTSOCK); lists the directory, starts DIR/app (APP) and lists it again
# once APP's socket is there.
set -u
dir=$1
sock=$(mktemp -d /tmp/hpsock.XXXXXX)
dead=$(python3 "$dir/listen.py" "$sock" exit)
python3 "$dir/listen.py" "$sock" stay > "$dir/live.txt" &
live=$!
notsock=$(sh -c 'echo $$')  # a pid that has exited
touch "$sock/$notsock.sock"
trap 'kill $live $app 2>/dev/null; rm -rf "$sock"' EXIT
for _ in $(seq 100); do [ -S "$sock/$live.sock" ] && break; sleep 0.05; done
names() { sed -e "s/\b$dead\b/DEAD/g" -e "s/\b$live\b/LIVE/g" -e "s/\b$notsock\b/NOTSOCK/g" -e "s/\b${app:-APP}\b/APP/g"; }
echo "before: $(ls "$sock" | names | sort | tr '\n' ' ')"
HOTPATCH_SOCKET_DIR=$sock "$dir/app" &
app=$!
for _ in $(seq 100); do [ -S "$sock/$app.sock" ] && break; sleep 0.05; done
echo "after: $(ls "$sock" | names | sort | tr '\n' ' ')"
