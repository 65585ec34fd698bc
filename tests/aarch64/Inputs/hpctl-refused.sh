#!/usr/bin/env bash
# hpctl-refused.sh DIR: what the AArch64 hpctl (under qemu) cannot do, asked of AArch64 programs
# under qemu: --safe, of DIR/old/app (A, linked with libhotpatch), and loading the runtime into
# DIR/plain (P: built with the plugin, not linked with libhotpatch).  Each program writes
# "value N" lines to DIR/out-NAME.  Pids are shown by name; "exit N" after each hpctl; then
# what the programs show: nothing was sent to A (its history is empty), P got no runtime.
#   QEMU:  how to run an AArch64 program;  HPCTL: the AArch64 hpctl, with QEMU before it
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1
read -ra qemu <<<"${QEMU:?}"
read -ra hpctl <<<"${HPCTL:?}"
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
declare -A pid
trap 'kill "${pid[@]}" 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
start() {  # start NAME PROGRAM: waited for until it has printed
  : > "$dir/out-$1"
  "${qemu[@]}" "$2" "$dir/out-$1" > /dev/null &
  pid[$1]=$!
  wait_for test -s "$dir/out-$1"
}
names() { sed "s/\\b${pid[A]}\\b/A/g; s/\\b${pid[P]:-none}\\b/P/g; s|$dir|DIR|g"; }
run() { "${hpctl[@]}" "$@" 2>&1 | names; echo "exit ${PIPESTATUS[0]}"; }
start A "$dir/old/app"
wait_socket "$HOTPATCH_SOCKET_DIR/${pid[A]}.sock"
echo "== apply --safe"; run apply --safe "${pid[A]}" "$dir/fix.hp"
echo "== revert --safe=2"; run revert --safe=2 "${pid[A]}"
echo "== apply --safe --all --json"; run apply --safe --all "$dir/old/app" "$dir/fix.hp" --json
echo "== A, after them"
"${hpctl[@]}" status "${pid[A]}" --json | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
print("patches", d["patches"], "history", d["history"], d["result"])'
tail -n 1 "$dir/out-A"
start P "$dir/plain"
echo "== apply, attaching"; run apply "${pid[P]}" "$dir/fix.hp"
echo "== apply, attaching, --json"; run apply "${pid[P]}" "$dir/fix.hp" --json
echo "== apply --all, attaching"; run apply --all "$dir/plain" "$dir/fix.hp"
echo "== apply --no-attach"; run apply --no-attach "${pid[P]}" "$dir/fix.hp"
echo "== status"; run status "${pid[P]}"
echo "== P, after them"
[ -e "$HOTPATCH_SOCKET_DIR/${pid[P]}.sock" ] && echo "P has a control socket" || echo "P has no control socket"
grep -q libhotpatch "/proc/${pid[P]}/maps" && echo "P has libhotpatch mapped" || echo "P has no libhotpatch mapped"
kill -0 "${pid[P]}" && echo "P runs"
