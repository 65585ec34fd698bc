#!/usr/bin/env bash
# mount-namespace.sh DIR: runs DIR/old/app in a mount namespace of its own with a private tmpfs
# on /tmp and its socket directory there (as systemd's PrivateTmp=yes gives a service), then
# applies DIR/fix.hp from outside with hpctl, shows status, reverts.  Prints the program's
# distinct lines with hpctl's transcript in between.
set -euo pipefail
dir=$1
hpctl=${HPCTL:?}
sockdir=$(mktemp -u /tmp/hpns.XXXXXX)  # a name only, made inside the namespace's /tmp
: > "$dir/out.txt"
# unshare and sh exec in place: $! is the program's pid.
unshare -m sh -c 'mount -t tmpfs none /tmp && HOTPATCH_SOCKET_DIR=$0 exec "$1"' "$sockdir" "$dir/old/app" \
  >> "$dir/out.txt" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "/proc/$pid/root$sockdir/$pid.sock" ] && break; sleep 0.05; done
mark() { sleep 0.2; echo "== $*" >> "$dir/out.txt"; }
mark start
[ -e "$sockdir" ] && echo "socket outside: $sockdir" >> "$dir/out.txt" || echo "socket outside: none" >> "$dir/out.txt"
run() { { "$hpctl" "$@" 2>&1 || true; } | sed "s/\b$pid\b/PID/g" >> "$dir/out.txt"; }
run apply "$pid" "$dir/fix.hp"
mark applied
run status "$pid"
run revert "$pid"
mark reverted
uniq "$dir/out.txt"
