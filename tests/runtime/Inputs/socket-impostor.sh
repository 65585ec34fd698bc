#!/usr/bin/env bash
# socket-impostor.sh DIR: as uid 1000, runs DIR/app (non-dumpable, no runtime) and an impostor
# (DIR/impostor.py) listening where hpctl computes the app's socket to be; runs hpctl status as
# uid 1000 against the app, then again with the socket directory open to others.  Pids are
# printed as TARGET and IMPOSTOR.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -u
dir=$1
user=(setpriv --reuid=1000 --regid=1000 --clear-groups)  # execs: the pid stays the program's
sock=$(mktemp -d /tmp/hpsock.XXXXXX)
chown 1000:1000 "$sock"
chmod 700 "$sock"
export HOTPATCH_SOCKET_DIR=$sock
"${user[@]}" "$dir/app" &
target=$!
"${user[@]}" python3 "$dir/impostor.py" "$sock/$target.sock" "$sock/received" > "$sock/started" &
impostor=$!
trap 'kill $target $impostor 2>/dev/null; rm -rf "$sock"' EXIT
wait_for eval '[ -s "$sock/started" ]'
names() { sed -e "s/\b$target\b/TARGET/g" -e "s/\b$impostor\b/IMPOSTOR/g"; }
"${user[@]}" "$HPCTL" status $target 2>&1 | names
for _ in $(seq 50); do [ -s "$sock/received" ] && break; sleep 0.05; done
cat "$sock/received"
chmod 755 "$sock"
"${user[@]}" "$HPCTL" status $target 2>&1 | names
