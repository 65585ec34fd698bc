#!/usr/bin/env bash
# container-symlink.sh DIR: runs DIR/app in a mount namespace of its own (a private tmpfs on
# /tmp, its socket directory there), then, as whoever is root in that namespace could, replaces
# the socket directory by an absolute link to /tmp/hpdecoy.*: nothing in the namespace, but in
# the host a root-owned 0700 directory where a decoy listens on PID.sock.  Runs hpctl status as
# root from outside and prints whether the decoy was connected to, the pid as PID.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -euo pipefail
dir=$1
sockdir=$(mktemp -u /tmp/hpns.XXXXXX)  # made inside the namespace's /tmp
decoy=$(mktemp -d /tmp/hpdecoy.XXXXXX)  # the host's
chmod 700 "$decoy"
# Started from its directory, entered before the tmpfs hides /tmp (the tests may run under it).
unshare -m sh -c 'cd "$1" && mount -t tmpfs none /tmp && HOTPATCH_SOCKET_DIR=$0 exec ./app' "$sockdir" "$dir" &
pid=$!
trap 'kill -KILL $pid $decoy_pid 2>/dev/null || true; rm -rf "$decoy"' EXIT
wait_socket "/proc/$pid/root$sockdir/$pid.sock"
nsenter -t "$pid" -m sh -c 'mv "$0" "$0.real" && ln -s "$1" "$0"' "$sockdir" "$decoy"
python3 "$dir/decoy.py" "$decoy/$pid.sock" "$dir/decoy.txt" > "$dir/decoy.out" &
decoy_pid=$!
wait_for eval '[ -s "$dir/decoy.out" ]'
"$HPCTL" status "$pid" 2>&1 | sed "s/\b$pid\b/PID/g; s/process $decoy_pid\b/process DECOY/g" || true
sleep 0.3
[ -s "$dir/decoy.txt" ] && cat "$dir/decoy.txt" || echo "decoy: not connected to"
