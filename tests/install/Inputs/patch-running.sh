#!/usr/bin/env bash
# patch-running.sh APP PACKAGE HPCTL: runs APP, applies PACKAGE to it with HPCTL while it runs,
# and prints the distinct lines APP printed, with hpctl's answer in between.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -euo pipefail
app=$1 pkg=$2 hpctl=$3
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
out=$(mktemp)
"$app" >> "$out" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$HOTPATCH_SOCKET_DIR" "$out"' EXIT
wait_socket "$HOTPATCH_SOCKET_DIR/$pid.sock"
sleep 0.1
"$hpctl" apply "$pid" "$pkg" | sed "s/$pid/PID/" >> "$out"
sleep 0.1
uniq "$out"
