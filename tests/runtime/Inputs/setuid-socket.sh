#!/usr/bin/env bash
# setuid-socket.sh APP [UID]: runs APP, a program setuid to UID (default 0, root), as uid 1000
# with HOTPATCH_SOCKET_DIR naming a directory uid 1000 owns; prints where the runtime put its
# socket ("user's directory" or "the effective uid's directory") and root's hpctl status, the
# program's pid as PID.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -u
app=$1 owner=${2:-0}
userdir=$(mktemp -u /tmp/hpsuid.XXXXXX)
mkdir -m 0700 "$userdir" && chown 1000:1000 "$userdir"
out=$(mktemp)
chmod 644 "$out"
setpriv --reuid=1000 --regid=1000 --clear-groups env HOTPATCH_SOCKET_DIR="$userdir" "$app" > "$out" &
pid=
trap 'kill $pid 2>/dev/null; rm -rf "$userdir" "$out"' EXIT
wait_for eval '[ -s "$out" ]'
read -r pid < "$out"
# A socket that should not come is given 5 s, not wait_for's 20.
for _ in $(seq 100); do [ -S "$userdir/$pid.sock" ] || [ -S "/tmp/hotpatch-$owner/$pid.sock" ] && break; sleep 0.05; done
[ -S "$userdir/$pid.sock" ] && echo "socket: user's directory"
[ -S "/tmp/hotpatch-$owner/$pid.sock" ] && echo "socket: the effective uid's directory"
echo "root: $(env -u HOTPATCH_SOCKET_DIR "$HPCTL" status "$pid" 2>&1 | sed -n 1p)" | sed "s/\b$pid\b/PID/g"
