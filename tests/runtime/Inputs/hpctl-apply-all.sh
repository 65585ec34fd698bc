#!/usr/bin/env bash
# hpctl-apply-all.sh DIR: starts DIR/old/app three times (A, B, C) and DIR/new/app (another
# build: OTHER), runs hpctl --all against old/app's file and build-id, then starts a copy of
# old/app (D), deletes the copy, and applies by build-id again.  Pids are shown by name;
# "exit N" after each hpctl.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
pids=()
start() { "$@" > /dev/null & pids+=($!); }
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_pid() { wait_socket "$HOTPATCH_SOCKET_DIR/$1.sock"; }
start "$dir/old/app"; start "$dir/old/app"; start "$dir/old/app"; start "$dir/new/app"
for p in "${pids[@]}"; do wait_pid "$p"; done
names() { sed "s/\b${pids[0]}\b/A/g; s/\b${pids[1]}\b/B/g; s/\b${pids[2]}\b/C/g; s/\b${pids[3]}\b/OTHER/g; s/\b${pids[4]:-none}\b/D/g"; }
run() { "$hpctl" "$@" 2>&1 | names; echo "exit ${PIPESTATUS[0]}"; }
build_id=$(llvm-readelf -n "$dir/old/app" | sed -n 's/.*Build ID: //p')
echo "== apply --all FILE"; run apply --all "$dir/old/app" "$dir/fix.hp"
echo "== status of the other build"; run status "${pids[3]}"
echo "== status --all BUILD-ID --json"
"$hpctl" status --all "$build_id" --json | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(d["pid"], "patches", [p["id"] for p in d["patches"]], d["result"], d["exit"])' | names
echo "exit ${PIPESTATUS[0]}"
echo "== revert --all FILE"; run revert --all "$dir/old/app"
cp "$dir/old/app" "$dir/app-copy"
start "$dir/app-copy"
wait_pid "${pids[4]}"
rm "$dir/app-copy"
echo "== a copy, deleted since it started"; run apply --all "$build_id" "$dir/fix.hp"
echo "== revert --all FILE, the copy found by its build-id"; run revert --all "$dir/old/app"
echo "== no process of a build"; run status --all 00112233445566778899
echo "== other untouched: $("$hpctl" status "${pids[3]}" | grep -c '^  [0-9]') live"
