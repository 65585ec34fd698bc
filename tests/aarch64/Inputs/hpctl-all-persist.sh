#!/usr/bin/env bash
# hpctl-all-persist.sh DIR: the AArch64 hpctl (under qemu) with --all and --persist on AArch64
# programs under qemu.  Starts DIR/old/app twice (A, B) and DIR/new/app (OTHER, another build),
# each writing "value N" lines to DIR/out-NAME; applies DIR/fix.hp to every process of old/app's
# file, lists them by build-id (--json), reverts them all; then applies with --persist --all and
# starts old/app again (C), whose first line must already be the patched value, the stored
# package applied as it started; unpersist removes what was stored.  Pids are shown by name;
# "exit N" after each hpctl; after each change, the value each program prints (waited for).
#   QEMU:  how to run an AArch64 program;  HPCTL: the AArch64 hpctl, with QEMU before it
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1
read -ra qemu <<<"${QEMU:?}"
read -ra hpctl <<<"${HPCTL:?}"
export HOTPATCH_SOCKET_DIR HOTPATCH_PERSIST_DIR=$dir/persist
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
declare -A pid
trap 'kill "${pid[@]}" 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
start() {  # start NAME PROGRAM: waited for until it listens and has printed
  : > "$dir/out-$1"
  "${qemu[@]}" "$2" "$dir/out-$1" > /dev/null &
  pid[$1]=$!
  wait_for eval "[ -S '$HOTPATCH_SOCKET_DIR/${pid[$1]}.sock' ] && [ -s '$dir/out-$1' ]"
}
names() {
  local n s=
  for n in "${!pid[@]}"; do s+="s/\\b${pid[$n]}\\b/$n/g;"; done
  sed "$s; s|$dir|DIR|g"
}
run() { "${hpctl[@]}" "$@" 2>&1 | names; echo "exit ${PIPESTATUS[0]}"; }
prints() {  # prints NAME N: waits until NAME's latest line is "value N"
  wait_for sh -c "tail -n 1 '$dir/out-$1' | grep -qx 'value $2'" && echo "$1 prints value $2"
}
start A "$dir/old/app"; start B "$dir/old/app"; start OTHER "$dir/new/app"
build_id=$(llvm-readelf -n "$dir/old/app" | sed -n 's/.*Build ID: //p')
echo "== apply --all FILE"; run apply --all "$dir/old/app" "$dir/fix.hp"
prints A 2; prints B 2; prints OTHER 2
echo "== status --all BUILD-ID --json"
"${hpctl[@]}" status --all "$build_id" --json | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print(d["pid"], "patches", [p["id"] for p in d["patches"]], d["result"], d["exit"])' | names
echo "exit ${PIPESTATUS[0]}"
echo "== status OTHER"; run status "${pid[OTHER]}"
echo "== revert --all FILE"; run revert --all "$dir/old/app"
prints A 1; prints B 1
echo "== no process of a build"; run status --all 00112233445566778899
echo "== apply --persist --all BUILD-ID"; run apply --persist --all "$build_id" "$dir/fix.hp"
prints A 2; prints B 2
find "$dir/persist" -type f | names
cmp -s "$dir/fix.hp" "$(find "$dir/persist" -type f)" && echo "stored: the package's bytes"
start C "$dir/old/app"
echo "== restarted: its first line is $(head -n 1 "$dir/out-C")"
echo "== status C --json"
"${hpctl[@]}" status "${pid[C]}" --json | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
print("patches", [p["id"] for p in d["patches"]], "history", [h["event"] for h in d["history"]], d["result"])'
echo "== unpersist C"; run unpersist "${pid[C]}"
echo "== unpersist BUILD-ID, nothing left"; run unpersist "$build_id"
