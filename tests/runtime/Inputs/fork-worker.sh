#!/usr/bin/env bash
# fork-worker.sh DIR: runs DIR/old/app, which forks a worker that calls hp_control_enable() and
# a child that does not; applies DIR/fix.hp to the worker and waits for it to report the new
# value, then asks hpctl for the child's and the parent's status.  Pids shown as PARENT, WORKER,
# CHILD.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -d /tmp/hpsock.XXXXXX)
rm -f "$dir/pids" "$dir/value"
"$dir/old/app" "$dir/pids" "$dir/value" &
parent=$! worker= child=
trap 'kill $parent $worker $child 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for eval '[ -s "$dir/pids" ]'
read -r parent worker child < "$dir/pids"
wait_socket "$HOTPATCH_SOCKET_DIR/$worker.sock"
names() { sed -e "s/\b$parent\b/PARENT/g" -e "s/\b$worker\b/WORKER/g" -e "s/\b$child\b/CHILD/g"; }
echo "== worker that called hp_control_enable()"
"$hpctl" apply "$worker" "$dir/fix.hp" 2>&1 | names
# The worker rewrites the file (truncate, write): what was read when it held the new value is shown.
for _ in $(seq 400); do v=$(cat "$dir/value" 2>/dev/null); [[ $v == *"value 2"* ]] && break; sleep 0.05; done
echo "$v"
echo "== child that did not"
"$hpctl" status "$child" 2>&1 | names
echo "== parent"
"$hpctl" status "$parent" 2>&1 | names
