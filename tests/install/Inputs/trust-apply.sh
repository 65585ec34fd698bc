#!/usr/bin/env bash
# trust-apply.sh APP HPCTL PACKAGE...: runs APP, applies each PACKAGE to it in turn with HPCTL
# while it runs, then asks its status, and prints the distinct lines APP printed with hpctl's
# answers and exit statuses in between.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
app=$1 hpctl=$2
shift 2
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
out=$(mktemp)
"$app" >> "$out" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR" "$out"' EXIT
wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
sleep 0.1
for pkg in "$@"; do
  { "$hpctl" apply "$pid" "$pkg" 2>&1; echo "exit $?"; } | sed "s/$pid/PID/" >> "$out"
  sleep 0.1
done
"$hpctl" status "$pid" | grep '^policy' >> "$out"
uniq "$out"
