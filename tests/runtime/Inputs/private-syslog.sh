#!/usr/bin/env bash
# private-syslog.sh LOG COMMAND [ARGS...]: runs COMMAND with a /dev/log of its own, a datagram
# socket this script listens on, writing each message it receives to LOG as one line.  The
# command runs in a private mount namespace (unshare -m, as root) whose /dev is a directory
# holding that socket and the usual character devices bound in: the host's /dev and its log
# daemon (or the lack of one) are untouched, and nothing depends on journald.  Exits with the
# command's status.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
log=$1
shift
dev=$(mktemp -d /tmp/hplog.XXXXXX)  # short: a socket path must fit in 108 bytes
mkdir "$dev/dev"
devices=(null zero full random urandom)
for d in "${devices[@]}"; do touch "$dev/dev/$d"; done
: > "$log"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[2], "a") as out:
    while True:
        data = s.recv(65536)
        out.write(data.decode(errors="replace").rstrip("\0") + "\n")
        out.flush()
' "$dev/dev/log" "$log" &
listener=$!
trap 'kill $listener 2>/dev/null; rm -rf "$dev"' EXIT
wait_for eval '[ -e "$dev/dev/log.ready" ]'
rm -f "$dev/dev/log.ready"
unshare -m bash -c 'dev=$1; shift
  for d in null zero full random urandom; do mount --bind "/dev/$d" "$dev/dev/$d" || exit 125; done
  mount --bind "$dev/dev" /dev || exit 125
  exec "$@"' bash "$dev" "$@"
status=$?
sleep 0.3  # the listener writes what is still queued
exit $status
