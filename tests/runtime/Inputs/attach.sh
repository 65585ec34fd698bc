#!/usr/bin/env bash
# attach.sh DIR [ARGS...]: runs DIR/old/app (built with the plugin, never linked with libhotpatch)
# with a socket directory of its own, then from outside: hpctl apply DIR/fix.hp (which loads the
# runtime into it), apply again (the runtime is not loaded twice), status, revert.  Prints the
# program's distinct lines with hpctl's transcript in between, the pid as PID; ARGS go to apply.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
dir=$1
shift
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
: > "$dir/out.txt"
(cd "$dir/old" && exec ./app) >> "$dir/out.txt" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for test -s "$dir/out.txt"
mark() { sleep 0.3; echo "== $*" >> "$dir/out.txt"; }
run() { { "$hpctl" "$@" 2>&1 || echo "exit $?"; } | sed "s/\b$pid\b/PID/g" >> "$dir/out.txt"; }
echo "runtime mapped before: $(grep -c libhotpatch "/proc/$pid/maps" || true)" >> "$dir/out.txt"
run status "$pid"
run apply --no-attach "$pid" "$dir/fix.hp"
run apply "$@" "$pid" "$dir/fix.hp"
mark applied
echo "runtime mapped after: $(grep libhotpatch "/proc/$pid/maps" | awk '{ print $6 }' | sort -u | wc -l)" >> "$dir/out.txt"
run status "$pid"
run revert "$pid"
mark reverted
run apply "$pid" "$dir/fix.hp"
mark applied again
echo "runtime mapped at the end: $(grep libhotpatch "/proc/$pid/maps" | awk '{ print $6 }' | sort -u | wc -l)" >> "$dir/out.txt"
uniq "$dir/out.txt"
