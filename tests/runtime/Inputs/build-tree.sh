#!/usr/bin/env bash
# build-tree.sh DIR: runs DIR/old/client, DIR/old/server and DIR/other, applies DIR/fix.hp to
# each with hpctl, shows status (text for the client, JSON for the server), reverts the client.
# Prints the programs' distinct lines with hpctl's transcript in between, pids replaced by
# CLIENT, SERVER and OTHER.
source "$(dirname "$0")/../../tools/wait-for.sh"
set -uo pipefail
dir=$1
hpctl=${HPCTL:?}
# A short directory: a socket path must fit in 108 bytes, wherever the tests run.
export HOTPATCH_SOCKET_DIR
HOTPATCH_SOCKET_DIR=$(mktemp -u /tmp/hpsock.XXXXXX)
: > "$dir/out.txt"
"$dir/old/client" >> "$dir/out.txt" &
client=$!
"$dir/old/server" >> "$dir/out.txt" &
server=$!
"$dir/other" &
other=$!
trap 'kill $client $server $other 2>/dev/null; rm -rf "$HOTPATCH_SOCKET_DIR"' EXIT
for p in $client $server $other; do
  wait_socket "$HOTPATCH_SOCKET_DIR/$p.sock"
done
names() { sed -e "s/\b$client\b/CLIENT/g" -e "s/\b$server\b/SERVER/g" -e "s/\b$other\b/OTHER/g"; }
mark() { sleep 0.2; echo "== $*" >> "$dir/out.txt"; }
run() { "$hpctl" "$@" 2>&1 | names >> "$dir/out.txt"; echo "exit ${PIPESTATUS[0]}" >> "$dir/out.txt"; }
mark start
"$hpctl" apply "$client" "$dir/fix.hp" 2>&1 | names >> "$dir/out.txt"
"$hpctl" apply "$server" "$dir/fix.hp" 2>&1 | names >> "$dir/out.txt"
mark applied
# What each program printed last, now that both run the fixed code.
last() { echo "last: $(grep "^$1 " "$dir/out.txt" | tail -n 1)"; }
last client >> "$dir/out.txt"
last server >> "$dir/out.txt"
echo "== status" >> "$dir/out.txt"
"$hpctl" status "$client" 2>&1 | names | awk '{$1=$1; print}' >> "$dir/out.txt"
"$hpctl" status "$server" --json 2>&1 | names >> "$dir/out.txt"
echo "== other" >> "$dir/out.txt"
run apply "$other" "$dir/fix.hp"
"$hpctl" revert "$client" 1 > /dev/null 2>&1
echo "== reverted" >> "$dir/out.txt"
"$hpctl" status "$client" 2>&1 | names >> "$dir/out.txt"
kill -0 $client && kill -0 $server
# Client and server lines alternate: keep the first of each.
awk '!seen[$0]++' "$dir/out.txt"
