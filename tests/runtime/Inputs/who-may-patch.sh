#!/usr/bin/env bash
# who-may-patch.sh APP MODE: runs APP MODE DIR as root (it switches to uid 1000 as MODE says, then
# forks); asks hpctl for the child's status as uid 1000 and as root, printing who asked and the
# answer, the child's pid as CHILD.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -u
app=$1 mode=$2
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)  # the parent's, made as root
childdir=$(mktemp -u /tmp/hpsock.XXXXXX)            # the child's, made as uid 1000
out=$(mktemp)
"$app" "$mode" "$childdir" > "$out" &
parent=$!
child=
trap 'kill $parent $child 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR" "$childdir" "$out"' EXIT
wait_for eval '[ -s "$out" ]'
read -r child < "$out"
wait_socket "$childdir/$child.sock"
# hpctl as uid 1000 cannot read the child's /proc entries (not dumpable): it computes the path.
export HOTPATCH_SOCKET_DIR=$childdir
echo "uid 1000: $(setpriv --reuid=1000 --regid=1000 --clear-groups "$HPCTL" status "$child" 2>&1 | sed -n 1p)" |
  sed "s/\b$child\b/CHILD/g"
echo "root: $("$HPCTL" status "$child" 2>&1 | sed -n 1p)" | sed "s/\b$child\b/CHILD/g"
