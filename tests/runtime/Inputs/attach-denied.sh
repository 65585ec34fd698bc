#!/usr/bin/env bash
# attach-denied.sh DIR: hpctl apply, run as nobody, against a program built with the plugin and
# not linked with libhotpatch: root's process (another user's), then nobody's own process made
# non-dumpable (NODUMP=1: prctl(PR_SET_DUMPABLE, 0)); then root against that same process, which
# CAP_SYS_PTRACE allows.  Prints hpctl's lines and exit statuses, pids as PID.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/wait-for.sh"
dir=$1
hpctl=${HPCTL:?}
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
chmod 755 "$dir" "$dir/old" && chmod 644 "$dir/fix.hp"
nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
"$dir/old/app" > "$dir/root.txt" &
root_pid=$!
NODUMP=1 "${nobody[@]}" "$dir/old/app" > /dev/null &
own_pid=$!
trap 'kill $root_pid $own_pid 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
wait_for test -s "$dir/root.txt"
wait_for grep -q '^Uid:.*65534' "/proc/$own_pid/status"
sleep 0.2
run() { { "$@" 2>&1 || echo "exit $?"; } | sed "s/\b$root_pid\b/PID/g; s/\b$own_pid\b/PID/g"; }
echo "== nobody against root's process"
run "${nobody[@]}" "$hpctl" apply "$root_pid" "$dir/fix.hp"
echo "== nobody against its own non-dumpable process"
run "${nobody[@]}" "$hpctl" apply "$own_pid" "$dir/fix.hp"
echo "== root against it"
run "$hpctl" apply "$own_pid" "$dir/fix.hp"
